package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

func TestHeldSuppressionsCommands(t *testing.T) {
	ctx := context.Background()
	url := migratedDB(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep := &dsn.Report{Kind: dsn.KindDSN}
	unknown := dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress}
	for i := range 5 {
		rep.Recipients = append(rep.Recipients, dsn.Recipient{Address: fmt.Sprintf("c%d@flood.example", i), Status: "5.1.1",
			Diagnostic: "550 no such user\x1b[2J", Classification: unknown})
	}
	res, err := s.WriteBatch(ctx, store.Batch{Mailbox: "bounces", UIDValidity: 1, LastUID: 1, Limits: store.Limits{PerMessage: 2},
		Messages: []store.Message{{UID: 1, ContentHash: sha256.Sum256([]byte("cli")), Outcome: store.OutcomeProcessed, Report: rep}}})
	if err != nil || res.HeldPerMessage != 3 {
		t.Fatalf("WriteBatch: %+v, %v", res, err)
	}

	code, out, errOut := runDB(t, "suppressions", "held", "--database-url", url)
	if code != 0 {
		t.Fatalf("held: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ADDRESS", "c2@flood.example", "c4@flood.example", "user_unknown", "bounces", "unsigned", "per_message", "550 no such user"} {
		if !strings.Contains(out, want) {
			t.Errorf("held lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "c0@flood.example") {
		t.Errorf("held shows a terminal escape or an address in force:\n%q", out)
	}
	code, out, _ = runDB(t, "suppressions", "held", "--format", "json", "--database-url", url)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"held_by":"per_message"`) {
		t.Errorf("held --format json: exit %d:\n%s", code, out)
	}

	if code, _, errOut := runDB(t, "suppressions", "release", "--database-url", url); code != 2 || !strings.Contains(errOut, "--all") {
		t.Errorf("release of nothing: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runDB(t, "suppressions", "release", "--all", "c2@flood.example", "--database-url", url); code != 2 || !strings.Contains(errOut, "not both") {
		t.Errorf("release of both: exit %d: %s", code, errOut)
	}
	code, out, errOut = runDB(t, "suppressions", "release", "c2@flood.example", "nobody@example.org", "--by", "carol", "--reason", "checked", "--database-url", url)
	if code != 0 || !strings.Contains(out, "released c2@flood.example") || !strings.Contains(errOut, "not held: nobody@example.org") {
		t.Errorf("release: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := runDB(t, "suppressions", "release", "nobody@example.org", "--database-url", url); code != 1 || !strings.Contains(errOut, "no held suppression") {
		t.Errorf("release of one not held: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runDB(t, "suppressions", "discard", "c3@flood.example", "--database-url", url); code != 2 || !strings.Contains(errOut, "--reason is required") {
		t.Errorf("discard without reason: exit %d: %s", code, errOut)
	}
	code, out, _ = runDB(t, "suppressions", "discard", "c3@flood.example", "--reason", "forged", "--database-url", url)
	if code != 0 || !strings.Contains(out, "1 held suppression(s) discarded") {
		t.Errorf("discard: exit %d: %s", code, out)
	}
	code, out, _ = runDB(t, "suppressions", "release", "--all", "--database-url", url)
	if code != 0 || !strings.Contains(out, "released c4@flood.example") || !strings.Contains(out, "1 suppression(s) put in force") {
		t.Errorf("release --all: exit %d: %s", code, out)
	}

	audit, err := s.Audit(ctx, "c2@flood.example")
	if err != nil || len(audit) != 1 || audit[0].Action != "release" || audit[0].Actor != "carol" || audit[0].Note != "checked" {
		t.Errorf("audit = %+v, %v", audit, err)
	}
	found, err := s.Suppressed(ctx, []string{"c2@flood.example", "c3@flood.example", "c4@flood.example"})
	if err != nil || len(found) != 2 || found["c3@flood.example"].Address != "" {
		t.Errorf("in force after release and discard: %v, %v; want c2 and c4", found, err)
	}
	code, out, _ = runDB(t, "report", "--database-url", url)
	if code != 0 || !strings.Contains(out, "Suppressions held by the brake: 0") || !strings.Contains(out, "Suppressions in force: 4") {
		t.Errorf("report: %s", out)
	}
}
