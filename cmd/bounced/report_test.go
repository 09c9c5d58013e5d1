package main

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

func TestReportCommand(t *testing.T) {
	ctx := context.Background()
	url := migratedDB(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SyncReasonTexts(ctx, []store.ReasonText{
		{Reason: "blocklisted", Lang: "en", Meaning: "m", Why: "w", Fix: "Request delisting at the named list."},
		{Reason: "blocklisted", Lang: "de", Meaning: "m", Why: "w", Fix: "Austragung bei der genannten Liste beantragen."},
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	report := func(rcpt string, c dsn.Classification) *dsn.Report {
		return &dsn.Report{Kind: dsn.KindDSN, ReportingMTA: "mx.receiver.example",
			Original:   dsn.Original{From: "news@sender.example"},
			Recipients: []dsn.Recipient{{Address: rcpt, Status: "5.0.0", Classification: c}}}
	}
	unknown := dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress}
	blocked := dsn.Classification{Reason: dsn.ReasonBlocklisted, Scope: dsn.ScopeSender, Permanent: true, Verdict: dsn.VerdictAlert}
	vacation := dsn.Classification{Reason: dsn.ReasonAutoReply, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore}
	delivered := dsn.Classification{Reason: dsn.ReasonDelivered, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore}
	autoReply := report("e@gmail.example", vacation)
	autoReply.Kind = dsn.KindAutoReply
	b := store.Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 6}
	for i, r := range []*dsn.Report{
		verified(report("a@gmail.example", unknown)),
		report("b@gmail.example", unknown),
		report("c@web.example", blocked),
		report("d@old.example", unknown), // 3 days ago: in the 7-day count only
		autoReply,                        // no bounce: counted apart
		report("f@gmail.example", delivered),
	} {
		at := now.Add(-time.Hour)
		if i == 3 {
			at = now.Add(-72 * time.Hour)
		}
		b.Messages = append(b.Messages, store.Message{UID: uint32(i + 1), ContentHash: sha256.Sum256([]byte{byte(i)}),
			ReceivedAt: at, Outcome: store.OutcomeProcessed, Report: r})
	}
	if _, err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runDB(t, "report", "--database-url", url)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	day, week, ok := strings.Cut(out, "last 7 days")
	if !ok {
		t.Fatalf("report has no 7-day section:\n%s", out)
	}
	for _, want := range []string{"Suppressions in force: 3", "last 24 hours: 3 events, 3 addresses", "user_unknown", "gmail.example",
		"not counted as bounces: 1 auto-replies, 1 delivery reports", "gmail.example        2        2"} {
		if !strings.Contains(day, want) {
			t.Errorf("24-hour part lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "auto_reply") || strings.Contains(out, "delivered") {
		t.Errorf("auto-replies or delivery reports among the bounces:\n%s", out)
	}
	if strings.Contains(day, "old.example") || !strings.Contains(week, "old.example") || !strings.Contains(week, ": 4 events, 4 addresses") {
		t.Errorf("the 3-day-old bounce is misplaced:\n%s", out)
	}
	if !strings.Contains(week, "blocklisted: 1 for mail from sender.example, reported by mx.receiver.example") ||
		!strings.Contains(week, "fix: Request delisting at the named list.") {
		t.Errorf("incident or its fix missing:\n%s", out)
	}

	if !strings.Contains(out, "Suppressions held by the brake: 0") {
		t.Errorf("held count missing:\n%s", out)
	}
	// by authenticity: bounces, addresses, verdict suppress.
	for _, want := range []string{"verified 1 1 1", "unsigned 2 2 1"} {
		if !slices.ContainsFunc(strings.Split(day, "\n"), func(l string) bool { return strings.Join(strings.Fields(l), " ") == want }) {
			t.Errorf("24-hour part lacks the authenticity line %q:\n%s", want, day)
		}
	}

	_, out, _ = runDB(t, "report", "--lang", "de", "--database-url", url)
	if !strings.Contains(out, "fix: Austragung bei der genannten Liste beantragen.") {
		t.Errorf("German fix missing:\n%s", out)
	}
}

// verified marks every recipient of r as bounced to a verified return path.
func verified(r *dsn.Report) *dsn.Report {
	for i := range r.Recipients {
		r.Recipients[i].Authenticity = dsn.AuthenticityVerified
	}
	return r
}
