package store

import (
	"context"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

func TestPrune(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t, WithClock(newClock(now).Now))

	old, recent := now.Add(-100*24*time.Hour), now.Add(-24*time.Hour)
	batch := Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 4, Messages: []Message{
		msg(1, "old-unknown", old, rcpt{"gone@example.com", dsn.ReasonUserUnknown}),
		msg(2, "old-full", old, rcpt{"full@example.com", dsn.ReasonMailboxFull}),
		msg(3, "recent-unknown", recent, rcpt{"new@example.com", dsn.ReasonUserUnknown}),
		msg(4, "recent-full", recent, rcpt{"busy@example.com", dsn.ReasonMailboxFull}),
	}}
	if _, err := s.WriteBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if _, err := s.Prune(ctx, 7*24*time.Hour, false); err == nil {
		t.Error("Prune accepted a retention of 7 days, below MinRetention")
	}

	dry, err := s.Prune(ctx, 60*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if dry != (Pruned{Events: 2, SoftBounces: 1}) {
		t.Errorf("dry run = %+v, want 2 events and 1 soft-bounce record", dry)
	}
	if n := count(`SELECT count(*) FROM bounce_events`); n != 4 {
		t.Fatalf("the dry run deleted events: %d left of 4", n)
	}

	got, err := s.Prune(ctx, 60*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if got != dry {
		t.Errorf("Prune = %+v, want what the dry run counted, %+v", got, dry)
	}
	if n := count(`SELECT count(*) FROM bounce_events`); n != 2 {
		t.Errorf("%d events left, want the 2 recent ones", n)
	}
	if n := count(`SELECT count(*) FROM bounce_events WHERE recipient IN ('new@example.com', 'busy@example.com')`); n != 2 {
		t.Errorf("%d of the 2 recent events left", n)
	}
	// Suppressions, the ledger and reputation stay whatever their age.
	if n := count(`SELECT count(*) FROM suppressions WHERE lower(address) = 'gone@example.com'`); n != 1 {
		t.Error("the old bounce's suppression was pruned")
	}
	if n := count(`SELECT count(*) FROM processed_messages`); n != 4 {
		t.Errorf("the ledger holds %d messages after pruning, want all 4", n)
	}
	// The ledger still makes the old messages no-ops when fetched again.
	res, err := s.WriteBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 4 || res.Events != 0 {
		t.Errorf("writing the batch again after pruning = %+v, want 4 duplicates and no events", res)
	}

	again, err := s.Prune(ctx, 60*24*time.Hour, false)
	if err != nil || again != (Pruned{}) {
		t.Errorf("second Prune = %+v, %v; want nothing left to prune", again, err)
	}
}

func TestPruneInChunks(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t, WithClock(newClock(now).Now))
	// More old events than one DELETE takes.
	if _, err := s.pool.Exec(ctx, `INSERT INTO bounce_events (message_ref, occurred_at, recorded_at, kind, recipient,
		recipient_domain, status, status_inferred, smtp_code, action, reason, scope, permanent, verdict, diagnostic,
		remote_mta, reporting_mta, feedback_type, original_message_id, original_from, sending_domain)
		SELECT g, $1, $1, 'dsn', 'a' || g || '@example.com', 'example.com', '5.1.1', false, 550, 'failed',
			'user_unknown', 'recipient', true, 'suppress', '', '', '', '', '', '', ''
		FROM generate_series(1, $2) AS g`, now.Add(-400*24*time.Hour), pruneChunk+5); err != nil {
		t.Fatal(err)
	}
	got, err := s.Prune(ctx, 365*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != pruneChunk+5 {
		t.Errorf("pruned %d events, want %d", got.Events, pruneChunk+5)
	}
}
