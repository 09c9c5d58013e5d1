package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
)

// flood returns one message naming n recipients that fail with
// user_unknown: n0@flood.example, n1@...
func flood(uid uint32, content string, at time.Time, n int) Message {
	rs := make([]rcpt, n)
	for i := range rs {
		rs[i] = rcpt{fmt.Sprintf("%s%d@flood.example", content, i), dsn.ReasonUserUnknown}
	}
	return msg(uid, content, at, rs...)
}

// heldAddresses lists the held suppressions' addresses, ordered.
func heldAddresses(tb testing.TB, s *Store) []HeldSuppression {
	tb.Helper()
	var out []HeldSuppression
	if err := s.EachHeld(context.Background(), ListOptions{}, func(h HeldSuppression) error {
		out = append(out, h)
		return nil
	}); err != nil {
		tb.Fatalf("EachHeld: %v", err)
	}
	return out
}

// feed returns the addresses the webhooks' change feed (Changes) will
// announce as suppressed: every row of the suppressions table not lifted.
// (Changes itself returns a change only once every older transaction of
// the server has ended, which on a shared test server may take a while.)
func feed(tb testing.TB, s *Store) []string {
	tb.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT address FROM suppressions WHERE lifted_at IS NULL ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestAuthenticityIsStoredOnEventsAndEvidence(t *testing.T) {
	s := newTestStore(t, WithClock(newClock(t0).Now))
	res := mustWrite(t, s, batchOf(
		withAuthenticity(msg(1, "v", t0, rcpt{"v@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityVerified),
		withAuthenticity(msg(2, "i", t0, rcpt{"i@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityInvalid),
		withAuthenticity(msg(3, "u", t0, rcpt{"u@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityUnsigned),
		msg(4, "e", t0, rcpt{"e@example.org", dsn.ReasonUserUnknown}), // empty: unsigned
	))
	if res.Events != 4 {
		t.Fatalf("result %+v, want 4 events", res)
	}
	for addr, want := range map[string]string{"v@example.org": "verified", "i@example.org": "invalid",
		"u@example.org": "unsigned", "e@example.org": "unsigned"} {
		var got string
		if err := s.pool.QueryRow(context.Background(), `SELECT authenticity FROM bounce_events WHERE recipient = $1`, addr).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("event of %s: authenticity %q, want %q", addr, got, want)
		}
		if sp := suppressedNow(t, s, addr); sp == nil || sp.EvidenceAuthenticity != want {
			t.Errorf("suppression of %s = %+v, want evidence authenticity %q", addr, sp, want)
		}
	}
	if n := queryInt(t, s, `SELECT bounces FROM daily_bounce_authenticity WHERE authenticity = 'unsigned' AND verdict = 'suppress'`); n != 2 {
		t.Errorf("daily_bounce_authenticity: %d unsigned suppress bounces, want 2", n)
	}
	sp, err := s.AddSuppression(context.Background(), "hand@example.org", "complaint", "bob", "asked")
	if err != nil || sp.EvidenceAuthenticity != "" {
		t.Errorf("manual suppression = %+v, %v; want no evidence authenticity", sp, err)
	}
	// The schema refuses an authenticity outside the three.
	_, err = s.WriteBatch(context.Background(), batchOf(withAuthenticity(msg(5, "x", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown}), "forged")))
	if !errors.Is(err, ErrRejected) {
		t.Errorf("unknown authenticity: %v, want ErrRejected", err)
	}
}

func TestBrakeHoldsBeyondThePerMessageLimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	mustWrite(t, s, batchOf(msg(1, "old", t0, rcpt{"f7@flood.example", dsn.ReasonUserUnknown})))

	b := batchOf(flood(2, "f", t0, 250), msg(3, "other", t0, rcpt{"single@example.org", dsn.ReasonUserUnknown}))
	b.Limits = Limits{PerMessage: 100}
	res := mustWrite(t, s, b)
	// f7 was in force: a renewal, not held and not counted.
	if res.HeldPerMessage != 149 || res.HeldPerHour != 0 || res.Suppressed != 102 {
		t.Fatalf("result %+v; want 149 held per message, 102 suppressed (f7 renewed, 100 new, single)", res)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM current_suppressions`); n != 102 {
		t.Errorf("current_suppressions has %d, want 102", n)
	}
	held := heldAddresses(t, s)
	if len(held) != 149 {
		t.Fatalf("%d held, want 149", len(held))
	}
	// The first hundred new ones of the message are in force, the rest held.
	for _, i := range []int{0, 6, 8, 100} {
		if suppressedNow(t, s, fmt.Sprintf("f%d@flood.example", i)) == nil {
			t.Errorf("f%d not in force", i)
		}
	}
	h := held[0]
	if h.Mailbox != "INBOX" || h.Reason != "user_unknown" || h.HeldBy != HeldPerMessage || h.Count != 1 ||
		h.EvidenceAuthenticity != "unsigned" || h.BounceMessageID != "<bounce-f@mx.receiver.example>" || h.ExpiresAt != nil {
		t.Errorf("held = %+v", h)
	}
	for _, h := range held {
		if suppressedNow(t, s, h.Address) != nil {
			t.Errorf("held %s is in force", h.Address)
		}
		if slices.Contains(feed(t, s), h.Address) {
			t.Errorf("held %s is in the webhook feed", h.Address)
		}
	}
	if n, err := s.HeldCount(ctx); err != nil || n != 149 {
		t.Errorf("HeldCount = %d, %v", n, err)
	}
	if got := len(feed(t, s)); got != 102 {
		t.Errorf("webhook feed has %d suppressions, want 102", got)
	}

	// The same message again (one changed byte: another hash) renews the
	// 101 in force and may start another 100: the per-hour limit is what
	// stops a series of messages.
	b = batchOf(flood(4, "f", t0.Add(time.Minute), 250))
	b.Messages[0].ContentHash[0] ^= 1
	b.Limits = Limits{PerMessage: 100}
	res = mustWrite(t, s, b)
	if res.Suppressed != 201 || res.HeldPerMessage != 49 {
		t.Errorf("second flood: %+v; want 101 renewed, 100 started, 49 held again", res)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM held_suppressions`); n != 49 {
		t.Errorf("%d held rows, want 49", n)
	}
	if n := queryInt(t, s, `SELECT min(bounce_count) FROM held_suppressions`); n != 2 {
		t.Errorf("held bounce count %d, want 2 (both floods)", n)
	}
}

func TestBrakePerHourHoldsAcrossBatchesAndStores(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	limits := Limits{PerMessage: 100, PerHour: 10}
	write := func(s *Store, uid uint32, n int) BatchResult {
		t.Helper()
		b := batchOf(flood(uid, fmt.Sprintf("h%d-", uid), clk.Now(), n))
		b.Limits = limits
		return mustWrite(t, s, b)
	}
	if res := write(s, 1, 4); res.Held() != 0 || res.Suppressed != 4 {
		t.Fatalf("batch 1: %+v", res)
	}
	clk.Add(10 * time.Minute)
	// Another Store on the same database: another replica, or a restart.
	s2, err := Open(context.Background(), s.pool.Config().ConnString(), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if res := write(s2, 2, 4); res.Held() != 0 || res.Suppressed != 4 {
		t.Fatalf("batch 2: %+v", res)
	}
	clk.Add(10 * time.Minute)
	if res := write(s, 3, 4); res.HeldPerHour != 2 || res.Suppressed != 2 {
		t.Fatalf("batch 3: %+v, want 2 in force and 2 held per hour", res)
	}
	if res := write(s2, 4, 3); res.HeldPerHour != 3 || res.Suppressed != 0 {
		t.Fatalf("batch 4: %+v, want all 3 held", res)
	}
	// An hour after the first batch, its 4 are out of the window.
	clk.Set(t0.Add(time.Hour + time.Second))
	if res := write(s, 5, 6); res.HeldPerHour != 2 || res.Suppressed != 4 {
		t.Fatalf("batch 5: %+v, want 4 in force and 2 held", res)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM held_suppressions WHERE held_by = 'per_hour'`); n != 7 {
		t.Errorf("%d held per hour, want 7", n)
	}
	// 0 turns the limit off.
	limits = Limits{}
	if res := write(s, 6, 30); res.Held() != 0 || res.Suppressed != 30 {
		t.Fatalf("no limits: %+v", res)
	}
}

func TestSoftSuppressionsCountTowardsTheBrake(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now), WithPolicy(Policy{SoftThreshold: 2, SoftWindow: day, SoftExpiry: 30 * day}))
	b := batchOf(
		msg(1, "a", t0, rcpt{"hard@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", t0, rcpt{"s1@example.org", dsn.ReasonMailboxFull}, rcpt{"s2@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0, rcpt{"s1@example.org", dsn.ReasonMailboxFull}, rcpt{"s2@example.org", dsn.ReasonMailboxFull}),
	)
	b.Limits = Limits{PerHour: 2}
	res := mustWrite(t, s, b)
	if res.Suppressed != 2 || res.HeldPerHour != 1 {
		t.Fatalf("result %+v; want 2 in force (hard, s1), 1 held", res)
	}
	held := heldAddresses(t, s)
	if len(held) != 1 || held[0].Address != "s2@example.org" || held[0].ExpiresAt == nil ||
		!held[0].ExpiresAt.Equal(t0.Add(30*day)) || held[0].Count != 2 {
		t.Errorf("held = %+v; want s2, expiring 30 days after its bounces, 2 counted", held)
	}
}

func TestReleaseAndDiscardHeld(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	b := batchOf(flood(1, "r", t0, 10))
	b.Limits = Limits{PerMessage: 2}
	if res := mustWrite(t, s, b); res.HeldPerMessage != 8 {
		t.Fatalf("result %+v", res)
	}
	release := t0.Add(time.Hour)
	clk.Set(release)

	if _, err := s.ReleaseHeld(ctx, HeldSelection{Addresses: []string{"nobody@example.org"}}, "alice", "checked"); !errors.Is(err, ErrNotHeld) {
		t.Errorf("releasing one not held: %v, want ErrNotHeld", err)
	}
	if _, err := s.ReleaseHeld(ctx, HeldSelection{}, "alice", "checked"); err == nil {
		t.Error("releasing nothing named: no error")
	}
	if _, err := s.ReleaseHeld(ctx, HeldSelection{All: true}, "", "checked"); err == nil {
		t.Error("releasing without actor: no error")
	}

	before := len(feed(t, s))
	res, err := s.ReleaseHeld(ctx, HeldSelection{Addresses: []string{"R2@FLOOD.example", "r3@flood.example", "r0@flood.example"}}, "alice", "checked by hand")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Released, []string{"r2@flood.example", "r3@flood.example"}) || !slices.Equal(res.NotHeld, []string{"r0@flood.example"}) {
		t.Errorf("release = %+v", res)
	}
	sp := suppressedNow(t, s, "r2@flood.example")
	if sp == nil || sp.Manual || !sp.ActiveSince.Equal(release) || sp.Reason != "user_unknown" || sp.EvidenceAuthenticity != "unsigned" {
		t.Errorf("released suppression = %+v", sp)
	}
	if got := len(feed(t, s)); got != before+2 {
		t.Errorf("feed grew from %d to %d, want by 2", before, got)
	}
	audit, err := s.Audit(ctx, "r2@flood.example")
	if err != nil || len(audit) != 1 || audit[0].Action != "release" || audit[0].Actor != "alice" || audit[0].Note != "checked by hand" {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	gone, err := s.DiscardHeld(ctx, HeldSelection{Addresses: []string{"r4@flood.example"}}, "alice", "forged")
	if err != nil || !slices.Equal(gone, []string{"r4@flood.example"}) {
		t.Errorf("discard = %v, %v", gone, err)
	}
	if suppressedNow(t, s, "r4@flood.example") != nil {
		t.Error("discarded address is in force")
	}
	if audit, _ := s.Audit(ctx, "r4@flood.example"); len(audit) != 1 || audit[0].Action != "discard" {
		t.Errorf("audit of discard = %+v", audit)
	}

	// A manual suppression settles a held one.
	if _, err := s.AddSuppression(ctx, "r5@flood.example", "complaint", "bob", "phoned"); err != nil {
		t.Fatal(err)
	}
	res, err = s.ReleaseHeld(ctx, HeldSelection{All: true}, "alice", "all checked")
	if err != nil || len(res.Released) != 4 {
		t.Errorf("release all = %+v, %v; want r6 to r9", res, err)
	}
	if n, _ := s.HeldCount(ctx); n != 0 {
		t.Errorf("%d still held", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM current_suppressions`); n != 2+2+1+4 {
		t.Errorf("%d in force, want 9", n)
	}
}

func TestHeldAddressIsSuppressedByALaterBounceWithinTheLimit(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	b := batchOf(flood(1, "l", t0, 3))
	b.Limits = Limits{PerMessage: 1}
	mustWrite(t, s, b)
	clk.Add(time.Minute)
	b = batchOf(msg(2, "again", clk.Now(), rcpt{"l2@flood.example", dsn.ReasonUserUnknown}))
	b.Limits = Limits{PerMessage: 1}
	if res := mustWrite(t, s, b); res.Held() != 0 || res.Suppressed != 1 {
		t.Fatalf("result %+v", res)
	}
	held := heldAddresses(t, s)
	if len(held) != 1 || held[0].Address != "l1@flood.example" {
		t.Errorf("held = %+v, want only l1", held)
	}
}

func TestLiftedAddressNeedsAVerifiedBounce(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now), WithPolicy(Policy{SoftThreshold: 2, SoftWindow: day, SoftExpiry: day}))
	mustWrite(t, s, batchOf(
		msg(1, "a", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(2, "b", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
	))
	clk.Add(time.Hour)
	if _, err := s.LiftSuppression(ctx, "soft@example.org", "alice", "confirmed"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	now := clk.Now()
	res := mustWrite(t, s, batchOf(
		msg(3, "c", now, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		withAuthenticity(msg(4, "d", now, rcpt{"soft@example.org", dsn.ReasonMailboxFull}), dsn.AuthenticityInvalid),
	))
	if sp := suppressedNow(t, s, "soft@example.org"); sp != nil || res.LiftedKept != 1 {
		t.Fatalf("lifted address suppressed again by unverified soft bounces: %+v, %+v", sp, res)
	}
	res = mustWrite(t, s, batchOf(withAuthenticity(msg(5, "e", now.Add(time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull}), dsn.AuthenticityVerified)))
	if sp := suppressedNow(t, s, "soft@example.org"); sp == nil || sp.EvidenceAuthenticity != "verified" {
		t.Errorf("verified soft bounce after the lift: %+v, %+v; want suppressed", sp, res)
	}
	// A suppression in force (never lifted) is renewed by any bounce.
	mustWrite(t, s, batchOf(msg(6, "f", now.Add(2*time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull})))
	if sp := suppressedNow(t, s, "soft@example.org"); sp == nil || sp.Count != 4 {
		t.Errorf("renewal by an unsigned bounce: %+v", sp)
	}
}

// TestHeldAreNotAnnouncedUntilReleased: webhooks hear of a suppression by
// NOTIFY and read it from the change feed (Changes). A held one reaches
// neither; once released, it reaches both.
func TestHeldAreNotAnnouncedUntilReleased(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+SuppressionChannel); err != nil {
		t.Fatal(err)
	}
	b := batchOf(flood(1, "n", t0, 3))
	b.Limits = Limits{PerMessage: 1}
	mustWrite(t, s, b)
	clk.Add(time.Minute)
	if _, err := s.ReleaseHeld(ctx, HeldSelection{Addresses: []string{"n2@flood.example"}}, "alice", "checked"); err != nil {
		t.Fatal(err)
	}
	var heard []string
	for len(heard) < 2 {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("waiting for notifications (have %v): %v", heard, err)
		}
		heard = append(heard, n.Payload)
	}
	if !slices.Equal(heard, []string{"n0@flood.example", "n2@flood.example"}) {
		t.Errorf("notifications = %v, want n0 (in force) then n2 (released)", heard)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if n, err := conn.Conn().WaitForNotification(short); err == nil {
		t.Errorf("notification for %q, which is held", n.Payload)
	}

	// The feed: changes are read once every older transaction of the
	// (shared) server has ended; wait for the two.
	var fed []string
	for deadline := time.Now().Add(20 * time.Second); len(fed) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		changes, _, err := s.Changes(ctx, ChangePosition{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		fed = fed[:0]
		for _, c := range changes {
			fed = append(fed, string(c.Kind)+" "+c.Address)
		}
	}
	if !slices.Equal(fed, []string{"suppressed n0@flood.example", "suppressed n2@flood.example"}) {
		t.Errorf("change feed = %v, want n0 and n2 suppressed, not the held n1", fed)
	}
}
