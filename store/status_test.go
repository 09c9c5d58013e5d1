package store

import (
	"context"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

// rollupDiff returns the rows where the roll-ups disagree with the tables
// they summarise; none when the triggers kept them.
func rollupDiff(tb testing.TB, s *Store) int {
	tb.Helper()
	var n int
	err := s.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM (
			(SELECT (occurred_at AT TIME ZONE 'UTC')::date, reason::text, verdict, recipient_domain, count(*)
			 FROM bounce_events GROUP BY 1, 2, 3, 4
			 EXCEPT SELECT day, reason::text, verdict, recipient_domain, bounces FROM bounce_daily)
			UNION ALL
			(SELECT day, reason::text, verdict, recipient_domain, bounces FROM bounce_daily
			 EXCEPT SELECT (occurred_at AT TIME ZONE 'UTC')::date, reason::text, verdict, recipient_domain, count(*)
			 FROM bounce_events GROUP BY 1, 2, 3, 4)) AS d)
		+ (SELECT count(*) FROM (
			(SELECT mailbox, (processed_at AT TIME ZONE 'UTC')::date, outcome, count(*), max(processed_at)
			 FROM processed_messages GROUP BY 1, 2, 3
			 EXCEPT SELECT mailbox, day, outcome, messages, last_processed FROM message_daily)
			UNION ALL
			(SELECT mailbox, day, outcome, messages, last_processed FROM message_daily
			 EXCEPT SELECT mailbox, (processed_at AT TIME ZONE 'UTC')::date, outcome, count(*), max(processed_at)
			 FROM processed_messages GROUP BY 1, 2, 3)) AS m)`).Scan(&n)
	if err != nil {
		tb.Fatalf("comparing the roll-ups: %v", err)
	}
	return n
}

// TestRollupsFollowWritesAndPrune: the daily roll-ups the status page reads
// agree with the events and the ledger after batch writes (a duplicate
// included) and after pruning, and the status queries read them.
func TestRollupsFollowWritesAndPrune(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t, WithClock(newClock(now).Now))
	old, yesterday, hour := now.Add(-100*24*time.Hour), now.Add(-24*time.Hour), now.Add(-time.Hour)
	mustWrite(t, s, batchOf(
		msg(1, "a", old, rcpt{"gone@example.com", dsn.ReasonUserUnknown}),
		msg(2, "b", yesterday, rcpt{"full@Example.COM", dsn.ReasonMailboxFull}, rcpt{"x@example.com", dsn.ReasonUserUnknown}),
		msg(3, "c", hour, rcpt{"p@example.net", dsn.ReasonAuthFailure}),
		msg(4, "d", yesterday.Add(-3*24*time.Hour), rcpt{"q@example.net", dsn.ReasonBlocklisted}),
	))
	mustWrite(t, s, batchOf(msg(5, "b", yesterday, rcpt{"full@example.com", dsn.ReasonMailboxFull}))) // a duplicate: nothing new
	if d := rollupDiff(t, s); d != 0 {
		t.Fatalf("after writing: %d roll-up rows disagree with the tables", d)
	}

	daily, err := s.DailyBounces(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range daily {
		total += c.Bounces
		if c.Day.Before(now.AddDate(0, 0, -30)) {
			t.Errorf("DailyBounces(30) returned %s", c.Day)
		}
	}
	if total != 4 {
		t.Errorf("DailyBounces(30): %d bounces, want the 4 of the last 30 days", total)
	}
	verdicts, err := s.VerdictTotals(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if verdicts["suppress"] != 1 || verdicts["soft"] != 1 || verdicts["alert"] != 2 {
		t.Errorf("VerdictTotals(30) = %v, want suppress 1, soft 1, alert 2", verdicts)
	}
	incidents, err := s.SenderIncidents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(incidents) != 2 || incidents[0].Reason != "auth_failure" || incidents[0].Last24h != 1 || incidents[1].Last24h != 0 || incidents[1].Last7d != 1 {
		t.Errorf("SenderIncidents = %+v, want the auth failure of the last hour first, then the blocklisting of 4 days ago", incidents)
	}
	worst, err := s.WorstDomains(ctx, 30, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(worst) != 1 || worst[0].Domain != "example.com" || worst[0].Hard != 1 || worst[0].Total != 2 || len(worst[0].Daily) != 30 || worst[0].Daily[28] != 2 {
		t.Errorf("WorstDomains(hard) = %+v, want example.com with 1 hard of 2, both yesterday", worst)
	}
	mailboxes, err := s.MailboxActivity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mailboxes) != 1 || mailboxes[0].Outcomes["processed"] != 4 || mailboxes[0].LastUID != 5 {
		t.Errorf("MailboxActivity = %+v, want INBOX with 4 processed, checkpoint 5", mailboxes)
	}

	if _, err := s.Prune(ctx, 60*24*time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if d := rollupDiff(t, s); d != 0 {
		t.Errorf("after pruning: %d roll-up rows disagree with the tables", d)
	}
}

// TestSearchSuppressions: by domain, by the beginning of an address, with
// LIKE's wildcards taken literally, paged.
func TestSearchSuppressions(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, a := range []string{"ann@example.org", "Anna@Example.org", "a_b@example.net", "axb@example.net", "bob@other.example"} {
		if _, err := s.AddSuppression(ctx, a, "user_unknown", "test", "seed"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q, after string
		limit    int
		want     []string
	}{
		{"", "", 10, []string{"a_b@example.net", "ann@example.org", "Anna@example.org", "axb@example.net", "bob@other.example"}},
		{"EXAMPLE.ORG", "", 10, []string{"ann@example.org", "Anna@example.org"}},
		{"@example.net", "", 10, []string{"a_b@example.net", "axb@example.net"}},
		{"ann", "", 10, []string{"ann@example.org", "Anna@example.org"}},
		{"ann@", "", 10, []string{"ann@example.org"}},
		{"a_b", "", 10, []string{"a_b@example.net"}},
		{"", "ann@example.org", 2, []string{"Anna@example.org", "axb@example.net"}},
		{"nobody.example", "", 10, nil},
	} {
		got, err := s.SearchSuppressions(ctx, c.q, c.after, c.limit)
		if err != nil {
			t.Fatalf("search %q: %v", c.q, err)
		}
		var addrs []string
		for _, sp := range got {
			addrs = append(addrs, sp.Address)
		}
		if len(addrs) != len(c.want) {
			t.Errorf("search %q after %q: %v, want %v", c.q, c.after, addrs, c.want)
			continue
		}
		for i := range addrs {
			if addrs[i] != c.want[i] {
				t.Errorf("search %q after %q: %v, want %v", c.q, c.after, addrs, c.want)
				break
			}
		}
	}
}
