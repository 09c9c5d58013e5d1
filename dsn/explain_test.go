package dsn

import (
	"errors"
	"strings"
	"testing"
)

func TestExplainAllReasons(t *testing.T) {
	for _, lang := range Languages {
		titles := map[string]Reason{}
		for _, d := range designTable {
			ex, err := Explain(d.reason, lang)
			if err != nil {
				t.Fatalf("Explain(%s, %s): %v", d.reason, lang, err)
			}
			for name, text := range map[string]string{"title": ex.Title, "meaning": ex.Meaning, "why": ex.Why, "fix": ex.Fix} {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s/%s: empty %s", lang, d.reason, name)
				}
			}
			if ex.Reason != d.reason || ex.Scope != d.scope || ex.Permanent != d.permanent || ex.Verdict != d.verdict {
				t.Errorf("Explain(%s, %s) = %s/%s/%v/%s, want DESIGN.md's %s/%v/%s",
					d.reason, lang, ex.Reason, ex.Scope, ex.Permanent, ex.Verdict, d.scope, d.permanent, d.verdict)
			}
			if prev, dup := titles[ex.Title]; dup {
				t.Errorf("%s: %s and %s share the title %q", lang, prev, d.reason, ex.Title)
			}
			titles[ex.Title] = d.reason
		}
	}
	// The German texts are not the English ones.
	for _, r := range Reasons() {
		en, _ := Explain(r, "en")
		de, _ := Explain(r, "DE")
		if en.Meaning == de.Meaning || en.Fix == de.Fix {
			t.Errorf("%s: German text equals English", r)
		}
	}
}

func TestExplainAuthFailureIsConcrete(t *testing.T) {
	for _, lang := range Languages {
		ex, err := Explain(ReasonAuthFailure, lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"SPF", "DKIM", "DMARC", "PTR", "p=reject", "Authentication-Results"} {
			if !strings.Contains(ex.Meaning+ex.Why+ex.Fix, want) {
				t.Errorf("%s auth_failure text does not mention %s", lang, want)
			}
		}
	}
}

func TestExplainErrors(t *testing.T) {
	if _, err := Explain(ReasonUserUnknown, "fr"); !errors.Is(err, ErrUnknownLanguage) {
		t.Errorf("Explain(fr) error = %v, want ErrUnknownLanguage", err)
	}
	if _, err := Explain("no_such_reason", "en"); !errors.Is(err, ErrUnknownReason) {
		t.Errorf("Explain(no_such_reason) error = %v, want ErrUnknownReason", err)
	}
	if _, err := ExplainCode("550", "xx"); !errors.Is(err, ErrUnknownLanguage) {
		t.Errorf("ExplainCode(xx) error = %v, want ErrUnknownLanguage", err)
	}
	for _, bad := range []string{"", "abc", "999", "150", "5.1", "5.1.1.1", "550 551", "550 5.1.1 extra", "6.1.1", "55O"} {
		if _, err := ExplainCode(bad, "en"); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("ExplainCode(%q) error = %v, want ErrUnknownCode", bad, err)
		}
	}
}

func TestExplainCode(t *testing.T) {
	for _, tc := range []struct {
		in        string
		reply     int
		status    string
		reason    Reason
		ambiguous bool
	}{
		{"5.7.26", 0, "5.7.26", ReasonAuthFailure, false},
		{"552", 552, "", ReasonMailboxFull, true},
		{"550 5.1.1", 550, "5.1.1", ReasonUserUnknown, false},
		{"550-5.1.1", 550, "5.1.1", ReasonUserUnknown, false},
		{"5.1.1 550", 550, "5.1.1", ReasonUserUnknown, false},
		{"550", 550, "", ReasonUserUnknown, true},
		{"553", 553, "", ReasonBadSenderAddress, true},
		{"554", 554, "", ReasonPolicyRejected, true},
		{"5.7.1", 0, "5.7.1", ReasonPolicyRejected, true},
		{"421", 421, "", ReasonServerError, true},
		{"4.2.2", 0, "4.2.2", ReasonMailboxFull, false},
		{"5.1.10", 0, "5.1.10", ReasonHostUnknown, false},
		{"5.7.509", 0, "5.7.509", ReasonPolicyRejected, true},
		{"250", 250, "", ReasonDelivered, true},
		{" #5.2.1 ", 0, "5.2.1", ReasonMailboxDisabled, false},
	} {
		ce, err := ExplainCode(tc.in, "en")
		if err != nil {
			t.Errorf("ExplainCode(%q): %v", tc.in, err)
			continue
		}
		if ce.ReplyCode != tc.reply || ce.Status != tc.status || ce.Reason != tc.reason || ce.Ambiguous != tc.ambiguous {
			t.Errorf("ExplainCode(%q) = reply %d status %q reason %s ambiguous %v; want %d %q %s %v",
				tc.in, ce.ReplyCode, ce.Status, ce.Reason, ce.Ambiguous, tc.reply, tc.status, tc.reason, tc.ambiguous)
		}
		if tc.reply != 0 && ce.ReplyText == "" {
			t.Errorf("ExplainCode(%q): no reply text", tc.in)
		}
		if tc.status != "" && (ce.StatusText == "" || ce.StatusClass == "") {
			t.Errorf("ExplainCode(%q): no status text", tc.in)
		}
		if ce.Meaning == "" || ce.Fix == "" {
			t.Errorf("ExplainCode(%q): no explanation", tc.in)
		}
	}
	ce, err := ExplainCode("5.7.509", "de")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ce.StatusText, "nicht registriert") {
		t.Errorf("vendor code 5.7.509: StatusText %q does not say it is unregistered", ce.StatusText)
	}
	if ce.Title == "" || ce.Title == mustExplain(t, ce.Reason, "en").Title {
		t.Errorf("ExplainCode(de) title %q is not German", ce.Title)
	}
}

func mustExplain(t *testing.T, r Reason, lang string) Explanation {
	t.Helper()
	ex, err := Explain(r, lang)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestStatusTableConsistent(t *testing.T) {
	for code, si := range statusTable {
		if si.Title == "" {
			t.Errorf("status %s has no title", code)
		}
		if si.Reason != "" {
			if _, ok := reasonInfos[si.Reason]; !ok {
				t.Errorf("status %s maps to unknown reason %q", code, si.Reason)
			}
		}
		if si.Specific && si.Reason == "" {
			t.Errorf("status %s is specific but names no reason", code)
		}
	}
	for code, ri := range replyTable {
		if ri.Title == "" || code < 200 || code > 599 {
			t.Errorf("reply %d: bad entry", code)
		}
	}
}

func TestCodeTitlesDE(t *testing.T) {
	for code := range statusTable {
		if statusTitlesDE[code] == "" {
			t.Errorf("status %s has no German title", code)
		}
	}
	for code := range replyTable {
		if replyTitlesDE[code] == "" {
			t.Errorf("reply %d has no German title", code)
		}
	}
	for c := range subjectTitles {
		if subjectTitlesDE[c] == "" {
			t.Errorf("subject %c has no German title", c)
		}
	}
	ce, err := ExplainCode("550 5.1.1", "de")
	if err != nil {
		t.Fatal(err)
	}
	if ce.ReplyText != replyTitlesDE[550] || ce.StatusText != statusTitlesDE[SeAddr1UnknownDestMailbox1] || ce.StatusClass != "Dauerhafter Fehler" {
		t.Errorf("ExplainCode(de) = %q / %q / %q", ce.ReplyText, ce.StatusClass, ce.StatusText)
	}
	ce, _ = ExplainCode("4.7.650 451", "en")
	if ce.StatusClass != "Persistent transient failure" || !strings.Contains(ce.StatusText, "Security or policy status") {
		t.Errorf("ExplainCode(4.7.650) = %q / %q", ce.StatusClass, ce.StatusText)
	}
	ce, _ = ExplainCode("2.0.0 299", "de")
	if ce.StatusClass != "Erfolg" || !strings.Contains(ce.ReplyText, "nicht in RFC 5321") {
		t.Errorf("ExplainCode(2.0.0 299) = %q / %q", ce.StatusClass, ce.ReplyText)
	}
}
