package dsn

import "testing"

// FuzzClassify feeds arbitrary evidence to Classify: it must never panic,
// always return a reason of the table with its own classification, and
// InferStatus must return a registered code for it.
func FuzzClassify(f *testing.F) {
	for _, tc := range classifyCases {
		f.Add(string(tc.ev.Action), tc.ev.Status, tc.ev.SMTPCode, tc.ev.Diagnostic)
	}
	f.Add("failed", "5.1.", 5, "550-")
	f.Add("", "4.4.", 0, "#5.1.1 <@> FROM:<@ 5.5.5.5.5 550-5.1")
	f.Fuzz(func(t *testing.T, action, status string, code int, diag string) {
		ev := Evidence{Kind: KindDSN, Action: Action(action), Status: status, SMTPCode: code, Diagnostic: diag}
		c := Classify(ev)
		if want := expectedClassification(ev, c.Reason); c != want || c.Reason == "" {
			t.Fatalf("Classify = %+v, want %+v", c, want)
		}
		if st := InferStatus(c, code); st != "" {
			if _, ok := lookupStatus(st); !ok || cleanStatus(st) != st {
				t.Fatalf("InferStatus = %q: not a registered code", st)
			}
		}
		if rc, st := findReply(diag); st != "" && cleanStatus(st) != st || rc != 0 && (rc < 200 || rc > 599) {
			t.Fatalf("findReply(%q) = %d, %q", diag, rc, st)
		}
	})
}
