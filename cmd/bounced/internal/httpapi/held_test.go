package httpapi_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// hold writes one bounce naming n failed recipients (h0@flood.example...)
// through a brake of one per message: h0 goes in force, the rest are held.
func (f *fixture) hold(n int) {
	f.t.Helper()
	rep := &dsn.Report{Kind: dsn.KindDSN}
	for i := range n {
		rep.Recipients = append(rep.Recipients, dsn.Recipient{
			Address: fmt.Sprintf("h%d@flood.example", i), Action: dsn.ActionFailed, Status: "5.1.1",
			Diagnostic: "550 5.1.1 <script>unknown</script>",
			Classification: dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient,
				Permanent: true, Verdict: dsn.VerdictSuppress},
		})
	}
	res, err := f.store.WriteBatch(context.Background(), store.Batch{
		Mailbox: "bounces", UIDValidity: 1, LastUID: 1, Limits: store.Limits{PerMessage: 1},
		Messages: []store.Message{{UID: 1, MessageID: "<flood@forger.example>", ContentHash: sha256.Sum256([]byte("flood")),
			Outcome: store.OutcomeProcessed, Report: rep}},
	})
	if err != nil || res.HeldPerMessage != n-1 {
		f.t.Fatalf("WriteBatch: %+v, %v", res, err)
	}
}

func TestHeldListReleaseDiscard(t *testing.T) {
	f := newFixture(t)
	f.hold(6)

	var p struct {
		Held       []store.HeldSuppression `json:"held"`
		NextCursor string                  `json:"next_cursor"`
	}
	res := f.call("GET", "/v1/suppressions/held?limit=3", nil)
	if res.status != http.StatusOK {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	res.decode(t, &p)
	if len(p.Held) != 3 || p.NextCursor == "" || p.Held[0].Address != "h1@flood.example" || p.Held[0].Mailbox != "bounces" ||
		p.Held[0].HeldBy != store.HeldPerMessage || p.Held[0].EvidenceAuthenticity != "unsigned" ||
		p.Held[0].BounceMessageID != "<flood@forger.example>" || p.Held[0].EvidenceDiagnostic != "550 5.1.1 <script>unknown</script>" {
		t.Fatalf("first page = %+v", p)
	}
	if strings.Contains(string(res.body), "<script>") {
		t.Errorf("the diagnostic is not escaped in JSON: %s", res.body)
	}
	res = f.call("GET", "/v1/suppressions/held?limit=3&cursor="+p.NextCursor, nil)
	res.decode(t, &p)
	if len(p.Held) != 2 || p.NextCursor != "" {
		t.Errorf("second page = %+v", p)
	}
	if res := f.call("GET", "/v1/suppressions/held?limit=0", nil); res.status != http.StatusBadRequest {
		t.Errorf("limit 0: %d", res.status)
	}
	// Held is not suppressed.
	if res := f.call("GET", "/v1/suppressions/h1@flood.example", nil); res.status != http.StatusNotFound {
		t.Errorf("GET of a held address: %d, want 404", res.status)
	}

	for _, tt := range []struct{ body, want string }{
		{`{}`, "addresses or all is required"},
		{`{"addresses": ["h1@flood.example"], "all": true}`, "not both"},
		{`{"address": "h1@flood.example"}`, `unknown field "address"`},
	} {
		res := f.call("POST", "/v1/suppressions/held/release", tt.body)
		if res.status != http.StatusBadRequest || !strings.Contains(res.errorText(t), tt.want) {
			t.Errorf("release %s: %d %s, want 400 with %q", tt.body, res.status, res.body, tt.want)
		}
	}
	if res := f.call("POST", "/v1/suppressions/held/release", `{"addresses": ["nobody@example.org"]}`); res.status != http.StatusNotFound {
		t.Errorf("release of one not held: %d %s", res.status, res.body)
	}

	res = f.call("POST", "/v1/suppressions/held/release", `{"addresses": ["H1@flood.example", "h9@flood.example"], "reason": "checked the send log"}`)
	if res.status != http.StatusOK {
		t.Fatalf("release: %d %s", res.status, res.body)
	}
	var rel store.ReleaseResult
	res.decode(t, &rel)
	if !slices.Equal(rel.Released, []string{"h1@flood.example"}) || !slices.Equal(rel.NotHeld, []string{"h9@flood.example"}) {
		t.Errorf("release = %+v", rel)
	}
	if res := f.call("GET", "/v1/suppressions/h1@flood.example", nil); res.status != http.StatusOK {
		t.Errorf("GET of a released address: %d", res.status)
	}
	audit, err := f.store.Audit(context.Background(), "h1@flood.example")
	if err != nil || len(audit) != 1 || audit[0].Action != "release" || audit[0].Actor != "api" || audit[0].Note != "checked the send log" {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	if res := f.call("POST", "/v1/suppressions/held/discard", `{"addresses": ["h2@flood.example"]}`); res.status != http.StatusBadRequest {
		t.Errorf("discard without a reason: %d", res.status)
	}
	res = f.call("POST", "/v1/suppressions/held/discard", `{"addresses": ["h2@flood.example"], "reason": "forged"}`)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"discarded":["h2@flood.example"]`) {
		t.Errorf("discard: %d %s", res.status, res.body)
	}
	if got := scrape(t, f)["bounced_suppressions_held"]; got != 3 {
		t.Errorf("bounced_suppressions_held = %v, want 3", got)
	}
	res = f.call("POST", "/v1/suppressions/held/release", `{"all": true}`)
	res.decode(t, &rel)
	if res.status != http.StatusOK || len(rel.Released) != 3 {
		t.Errorf("release all: %d %s", res.status, res.body)
	}
	if got := scrape(t, f)["bounced_suppressions_held"]; got != 0 {
		t.Errorf("bounced_suppressions_held after release = %v, want 0", got)
	}
	if res := do(t, f.srv, "", "GET", "/v1/suppressions/held", nil); res.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.status)
	}
}
