package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

// changesNow reads every change after p, waiting (within a deadline) while
// transactions of other tests on the shared server hold some back.
func changesNow(t *testing.T, s *Store, p ChangePosition) []SuppressionChange {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, held, err := s.Changes(context.Background(), p, 1000)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		if !held {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("changes still held back after 20s (have %d)", len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, within a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describe renders changes as "kind address" lines, in order.
func describe(cs []SuppressionChange) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(string(c.Kind) + " " + c.Address + "\n")
	}
	return b.String()
}

func TestChangesFeed(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))

	mustWrite(t, s, batchOf(
		msg(1, "a", t0, rcpt{"hard@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(4, "d", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(5, "e", t0, rcpt{"sender@example.org", dsn.ReasonBlocklisted}), // alert: never a change
	))
	if _, err := s.AddSuppression(ctx, "manual@example.org", "complaint", "bob", "asked to stop"); err != nil {
		t.Fatal(err)
	}
	all := changesNow(t, s, ChangePosition{})
	if got, want := describe(all), "suppressed hard@example.org\nsuppressed soft@example.org\nsuppressed manual@example.org\n"; got != want {
		t.Fatalf("changes =\n%swant\n%s", got, want)
	}
	first, soft, manual := all[0], all[1], all[2]
	if !first.Position.Less(soft.Position) || !soft.Position.Less(manual.Position) || first.Position.XID != soft.Position.XID {
		t.Errorf("positions %+v %+v %+v: want ordered, the batch's two in one transaction", first.Position, soft.Position, manual.Position)
	}
	if first.Reason != "user_unknown" || first.Scope != "recipient" || first.ExpiresAt != nil || !first.ActiveSince.Equal(t0) ||
		soft.ExpiresAt == nil || !manual.Manual || manual.LiftedAt != nil {
		t.Errorf("changes = %+v", all)
	}
	if got := changesNow(t, s, soft.Position); len(got) != 1 || got[0].Address != "manual@example.org" {
		t.Errorf("after the second: %s", describe(got))
	}
	if got, _, err := s.Changes(ctx, ChangePosition{}, 2); err != nil || len(got) > 2 {
		t.Errorf("Changes with limit 2 = %d changes, %v", len(got), err)
	}
	end := manual.Position

	// A renewal is no change; a lift is; so is a start after an expiry.
	clk.Add(time.Hour)
	mustWrite(t, s, batchOf(msg(6, "f", t0.Add(time.Hour), rcpt{"hard@example.org", dsn.ReasonUserUnknown})))
	if got := changesNow(t, s, end); len(got) != 0 {
		t.Errorf("a renewal made changes: %s", describe(got))
	}
	if _, err := s.LiftSuppression(ctx, "hard@example.org", "alice", "confirmed by phone"); err != nil {
		t.Fatal(err)
	}
	got := changesNow(t, s, end)
	if describe(got) != "unsuppressed hard@example.org\n" || got[0].LiftedAt == nil || got[0].ID != first.ID {
		t.Errorf("after the lift: %+v", got)
	}
	end = got[len(got)-1].Position

	clk.Add(40 * day) // the soft suppression expired
	if got := changesNow(t, s, ChangePosition{}); !strings.Contains(describe(got), "expired soft@example.org\n") {
		t.Errorf("from the beginning after the expiry:\n%s", describe(got))
	}
	now := clk.Now()
	mustWrite(t, s, batchOf(
		msg(7, "g", now, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(8, "h", now, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(9, "i", now, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
	))
	got = changesNow(t, s, end)
	if describe(got) != "suppressed soft@example.org\n" || got[0].ID != soft.ID || !got[0].ActiveSince.Equal(now) {
		t.Errorf("after the restart: %+v", got)
	}
}

// TestChangesHoldBackRunningTransactions is the reason for the xid order: a
// transaction that started writing first but commits last must not end up
// behind a cursor that has passed the one that committed first.
func TestChangesHoldBackRunningTransactions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))

	slow, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	// The slow writer's clock is ahead: its suppression would sort after
	// the other one by active_since.
	if _, err := slow.Exec(ctx, `INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count,
		active_since, updated_at) VALUES ('slow@example.org', 'user_unknown', 'recipient', $1, $1, 1, $1, $1)`, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, batchOf(msg(1, "a", t0, rcpt{"fast@example.org", dsn.ReasonUserUnknown})))

	got, held, err := s.Changes(ctx, ChangePosition{}, 100)
	if err != nil || len(got) != 0 || !held {
		t.Fatalf("while the slow transaction runs: %s held=%v err=%v; want nothing, held back", describe(got), held, err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := describe(changesNow(t, s, ChangePosition{})); got != "suppressed slow@example.org\nsuppressed fast@example.org\n" {
		t.Errorf("after the commit:\n%s", got)
	}
}

func TestWebhookCursor(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	mustWrite(t, s, batchOf(msg(1, "a", t0, rcpt{"old@example.org", dsn.ReasonUserUnknown})))

	if _, err := s.WebhookCursor(ctx, "x", "later"); err == nil {
		t.Error("WebhookCursor with an unknown start succeeded")
	}
	if err := s.AdvanceWebhookCursor(ctx, "none", ChangePosition{XID: 1, ID: 1}, 1); !errors.Is(err, ErrNoCursor) {
		t.Errorf("advancing a missing cursor = %v, want ErrNoCursor", err)
	}
	// "now" is the oldest transaction still running on the server: wait
	// until that is after the write (other tests share the server).
	old := changesNow(t, s, ChangePosition{})
	waitFor(t, "the horizon to pass the first write", func() bool {
		return queryInt(t, s, `SELECT (pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8)::int`, old[0].Position.XID) == 1
	})
	begin, err := s.WebhookCursor(ctx, "all", CursorStartBeginning)
	if err != nil || begin != (ChangePosition{}) {
		t.Fatalf("cursor from the beginning = %+v, %v", begin, err)
	}
	now, err := s.WebhookCursor(ctx, "new", CursorStartNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := changesNow(t, s, begin); len(got) != 1 {
		t.Errorf("from the beginning: %s", describe(got))
	}
	if got := changesNow(t, s, now); len(got) != 0 {
		t.Errorf("from now: %s", describe(got))
	}
	mustWrite(t, s, batchOf(msg(2, "b", t0, rcpt{"new@example.org", dsn.ReasonUserUnknown})))
	got := changesNow(t, s, now)
	if describe(got) != "suppressed new@example.org\n" {
		t.Fatalf("from now after a write: %s", describe(got))
	}

	// The start applies once; advancing only moves forward.
	if p, err := s.WebhookCursor(ctx, "new", CursorStartBeginning); err != nil || p != now {
		t.Errorf("existing cursor = %+v, %v; want %+v", p, err, now)
	}
	if err := s.AdvanceWebhookCursor(ctx, "new", got[0].Position, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceWebhookCursor(ctx, "new", now, 5); err != nil {
		t.Fatalf("advancing backwards: %v", err)
	}
	p, err := s.WebhookCursor(ctx, "new", CursorStartNow)
	if err != nil || p != got[0].Position {
		t.Errorf("cursor = %+v, %v; want %+v (never back)", p, err, got[0].Position)
	}
	if n := queryInt(t, s, `SELECT delivered FROM webhook_cursors WHERE name = 'new'`); n != 1 {
		t.Errorf("delivered = %d, want 1", n)
	}

	// Progress: "all" has both suppressions to deliver, "new" none left.
	progress, err := s.WebhookProgress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != 2 || progress[0].Name != "all" || progress[1].Name != "new" {
		t.Fatalf("WebhookProgress = %+v, want all and new", progress)
	}
	if all := progress[0]; all.Pending != 2 || all.Delivered != 0 {
		t.Errorf("all: %+v, want 2 pending and none delivered", all)
	}
	if n := progress[1]; n.Pending != 0 || n.Delivered != 1 || n.LastDelivered.IsZero() {
		t.Errorf("new: %+v, want nothing pending, 1 delivered and a time", n)
	}
}

func TestClaimWebhook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := newTestStore(t)
	claim, ok, err := s.ClaimWebhook(ctx, "crm")
	if err != nil || !ok {
		t.Fatalf("ClaimWebhook = %v, %v", ok, err)
	}
	defer claim.Release()
	other, err := Open(ctx, s.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if c, ok, err := other.ClaimWebhook(ctx, "crm"); err != nil || ok {
		t.Errorf("second replica claimed crm while held (ok=%v, err=%v)", ok, err)
		if ok {
			c.Release()
		}
	}
	if held, err := claim.Held(ctx); err != nil || !held {
		t.Errorf("Held = %v, %v", held, err)
	}

	wait := func(what string) {
		t.Helper()
		select {
		case <-claim.Notified():
		case <-ctx.Done():
			t.Fatalf("no notification for %s", what)
		}
	}
	mustWrite(t, s, batchOf(msg(1, "a", t0, rcpt{"a@example.org", dsn.ReasonUserUnknown})))
	wait("a new suppression")
	if _, err := s.LiftSuppression(ctx, "a@example.org", "alice", "confirmed"); err != nil {
		t.Fatal(err)
	}
	wait("a lift")

	// The session ends under the claim: Lost, not held, and another
	// replica can claim.
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(claim.pid)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-claim.Lost():
		if claim.Err() == nil {
			t.Error("Lost without Err")
		}
	case <-ctx.Done():
		t.Fatal("claim not lost after its session was terminated")
	}
	if held, err := claim.Held(ctx); err != nil || held {
		t.Errorf("Held after loss = %v, %v", held, err)
	}
	claim.Release()
	claim.Release() // harmless
	claimEventually(t, other, "crm", "after loss").Release()
	claimEventually(t, s, "crm", "after release").Release()
}

// claimEventually claims the webhook name, trying again for a while: a lock
// held by a session that just ended is free only once the server has ended
// that session's backend, a moment after the client saw it go.
func claimEventually(t *testing.T, s *Store, name, when string) *WebhookClaim {
	t.Helper()
	var claim *WebhookClaim
	waitFor(t, "the claim "+when, func() bool {
		c, ok, err := s.ClaimWebhook(context.Background(), name)
		if err != nil {
			t.Fatalf("claim %s: %v", when, err)
		}
		claim = c
		return ok
	})
	return claim
}
