package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
)

const day = 24 * time.Hour

func TestSoftBouncesSuppressWithinWindowAndExpire(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now)) // default policy: 3 in 14 days, for 30 days
	const addr = "soft@example.org"
	uid := uint32(0)
	soft := func(at time.Time, reason dsn.Reason) BatchResult {
		t.Helper()
		uid++
		clk.Set(at)
		return mustWrite(t, s, batchOf(msg(uid, at.String()+string(reason), at, rcpt{addr, reason})))
	}

	soft(t0, dsn.ReasonMailboxFull)
	soft(t0.Add(20*day), dsn.ReasonGreylisted)
	if res := soft(t0.Add(25*day), dsn.ReasonMailboxFull); res.Suppressed != 0 || suppressedNow(t, s, addr) != nil {
		t.Fatalf("suppressed after 3 soft bounces spread over 25 days (result %+v)", res)
	}
	if n := queryInt(t, s, `SELECT counted_bounces FROM soft_bounce_state WHERE address = $1`, addr); n != 2 {
		t.Errorf("counted soft bounces = %d, want 2 (the first fell out of the 14-day window)", n)
	}

	third := t0.Add(30 * day)
	if res := soft(third, dsn.ReasonServerError); res.Suppressed != 1 {
		t.Fatalf("3rd soft bounce within 14 days: result %+v, want 1 suppressed", res)
	}
	sp := suppressedNow(t, s, addr)
	if sp == nil {
		t.Fatal("not suppressed after 3 soft bounces within 14 days")
	}
	if sp.ExpiresAt == nil || !sp.ExpiresAt.Equal(third.Add(30*day)) {
		t.Errorf("suppression expires at %v, want %v (30 days after the last bounce)", sp.ExpiresAt, third.Add(30*day))
	}
	if sp.Count != 3 || !sp.FirstSeen.Equal(t0.Add(20*day)) || !sp.LastSeen.Equal(third) || sp.Reason != "server_error" {
		t.Errorf("suppression = count %d, first %v, last %v, reason %s; want 3, day 20, day 30, server_error",
			sp.Count, sp.FirstSeen, sp.LastSeen, sp.Reason)
	}

	// Expired: no longer in force, without anything deleting the row.
	clk.Set(third.Add(30*day + time.Second))
	if suppressedNow(t, s, addr) != nil {
		t.Error("suppression still in force after its expiry")
	}
	if n := queryInt(t, s, `SELECT count(*) FROM suppressions`); n != 1 {
		t.Errorf("%d suppression rows, want the expired one kept", n)
	}

	// One soft bounce after expiry does not restart it; three do, anew.
	later := third.Add(31 * day)
	if res := soft(later, dsn.ReasonMailboxFull); res.Suppressed != 0 {
		t.Errorf("a single soft bounce after expiry suppressed again")
	}
	soft(later.Add(day), dsn.ReasonMailboxFull)
	soft(later.Add(2*day), dsn.ReasonMailboxFull)
	sp = suppressedNow(t, s, addr)
	if sp == nil || sp.Count != 3 || !sp.FirstSeen.Equal(later) || !sp.ActiveSince.Equal(later.Add(2*day)) {
		t.Errorf("restarted suppression = %+v; want count 3 from %v", sp, later)
	}
}

func TestSoftPolicyIsConfigurable(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now), WithPolicy(Policy{SoftThreshold: 2, SoftWindow: time.Hour, SoftExpiry: 2 * time.Hour}))
	// Two within the hour, in one batch: suppressed for two hours.
	mustWrite(t, s, batchOf(
		msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonMailboxFull}),
		msg(2, "b", t0.Add(30*time.Minute), rcpt{"X@EXAMPLE.org", dsn.ReasonGreylisted}),
		msg(3, "c", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}),
		msg(4, "d", t0.Add(2*time.Hour), rcpt{"y@example.org", dsn.ReasonMailboxFull}),
	))
	sp := suppressedNow(t, s, "x@example.org")
	if sp == nil || sp.ExpiresAt == nil || !sp.ExpiresAt.Equal(t0.Add(150*time.Minute)) || sp.Count != 2 {
		t.Errorf("x: %+v; want suppressed until 2h after the second bounce, count 2", sp)
	}
	if suppressedNow(t, s, "y@example.org") != nil {
		t.Error("y suppressed by two soft bounces two hours apart (window 1h)")
	}
	if _, err := Open(context.Background(), s.pool.Config().ConnString(), WithPolicy(Policy{})); err == nil {
		t.Error("Open accepted a zero policy")
	}
}

func TestPermanentSuppressionIsNotWeakenedBySoftBounces(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now), WithPolicy(Policy{SoftThreshold: 2, SoftWindow: day, SoftExpiry: day}))
	mustWrite(t, s, batchOf(msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown})))
	mustWrite(t, s, batchOf(
		msg(2, "b", t0.Add(time.Hour), rcpt{"x@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0.Add(2*time.Hour), rcpt{"x@example.org", dsn.ReasonMailboxFull}),
	))
	sp := suppressedNow(t, s, "x@example.org")
	if sp == nil || sp.ExpiresAt != nil || sp.Reason != "user_unknown" || sp.Count != 3 {
		t.Fatalf("after soft bounces on a permanent suppression: %+v; want permanent user_unknown, count 3", sp)
	}
	clk.Add(10 * day)
	if suppressedNow(t, s, "x@example.org") == nil {
		t.Error("permanent suppression expired")
	}

	// The other way round: an expiring suppression becomes permanent.
	mustWrite(t, s, batchOf(
		msg(4, "d", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}),
		msg(5, "e", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}),
		msg(6, "f", t0.Add(time.Hour), rcpt{"y@example.org", dsn.ReasonComplaint}),
	))
	sp = suppressedNow(t, s, "y@example.org")
	if sp == nil || sp.ExpiresAt != nil || sp.Reason != "complaint" || sp.Count != 3 {
		t.Errorf("soft + complaint in one batch: %+v; want permanent complaint, count 3", sp)
	}
}

func TestAlertNeverSuppresses(t *testing.T) {
	s := newTestStore(t, WithClock(newClock(t0).Now), WithPolicy(Policy{SoftThreshold: 1, SoftWindow: day, SoftExpiry: day}))
	var msgs []Message
	for i, r := range []dsn.Reason{dsn.ReasonBlocklisted, dsn.ReasonAuthFailure, dsn.ReasonSpamContent, dsn.ReasonRateLimited} {
		msgs = append(msgs, msg(uint32(i+1), string(r), t0, rcpt{"x@example.org", r}))
	}
	res := mustWrite(t, s, batchOf(msgs...))
	if res.Incidents != 4 || res.Suppressed != 0 {
		t.Errorf("4 sender-side failures: %+v, want 4 incidents, none suppressed", res)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM suppressions`) + queryInt(t, s, `SELECT count(*) FROM soft_bounces`); n != 0 {
		t.Errorf("sender-side failures touched suppressions or soft-bounce counts (%d rows)", n)
	}
	if n := queryInt(t, s, `SELECT sum(incidents) FROM sender_incidents WHERE sending_domain = 'sender.example'`); n != 4 {
		t.Errorf("sender_incidents sums to %d, want 4", n)
	}
}

func TestManualLiftIsNotUndoneByOlderBounces(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	mustWrite(t, s, batchOf(
		msg(1, "a", t0, rcpt{"hard@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", t0.Add(-2*day), rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0.Add(-day), rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(4, "d", t0, rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
	))
	for _, a := range []string{"hard@example.org", "soft@example.org"} {
		if suppressedNow(t, s, a) == nil {
			t.Fatalf("%s not suppressed", a)
		}
	}

	lift := t0.Add(time.Hour)
	clk.Set(lift)
	for _, a := range []string{"HARD@example.org", "soft@EXAMPLE.org"} {
		if _, err := s.LiftSuppression(ctx, a, "alice", "subscriber confirmed by phone"); err != nil {
			t.Fatalf("LiftSuppression(%s): %v", a, err)
		}
	}
	if _, err := s.LiftSuppression(ctx, "hard@example.org", "alice", "again"); !errors.Is(err, ErrNotSuppressed) {
		t.Errorf("lifting twice = %v, want ErrNotSuppressed", err)
	}
	audit, err := s.Audit(ctx, "hard@example.org")
	if err != nil || len(audit) != 1 || audit[0].Actor != "alice" || audit[0].Action != "lift" ||
		audit[0].Note != "subscriber confirmed by phone" || !audit[0].At.Equal(lift) || audit[0].Reason != "user_unknown" {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	// Bounces from before the lift, processed after it (a backlog), must
	// not suppress again.
	clk.Set(lift.Add(time.Hour))
	mustWrite(t, s, batchOf(
		msg(5, "e", t0.Add(30*time.Minute), rcpt{"hard@example.org", dsn.ReasonUserUnknown}),
		msg(6, "f", t0.Add(10*time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(7, "g", t0.Add(20*time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
		msg(8, "h", t0.Add(30*time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull}),
	))
	for _, a := range []string{"hard@example.org", "soft@example.org"} {
		if sp := suppressedNow(t, s, a); sp != nil {
			t.Errorf("%s suppressed again by bounces from before the lift: %+v", a, sp)
		}
	}
	// One soft bounce after the lift is one, not four.
	mustWrite(t, s, batchOf(msg(9, "i", lift.Add(time.Minute), rcpt{"soft@example.org", dsn.ReasonMailboxFull})))
	if n := queryInt(t, s, `SELECT counted_bounces FROM soft_bounce_state WHERE address = 'soft@example.org'`); n != 1 {
		t.Errorf("soft bounces counted after the lift = %d, want 1", n)
	}
	if suppressedNow(t, s, "soft@example.org") != nil {
		t.Error("soft@example.org suppressed by one soft bounce after the lift")
	}

	// A new unsigned (or invalid) hard bounce after the lift does not
	// suppress again: anyone could have sent it.
	res := mustWrite(t, s, batchOf(
		msg(10, "j", lift.Add(time.Minute), rcpt{"hard@example.org", dsn.ReasonUserUnknown}),
		withAuthenticity(msg(11, "k", lift.Add(time.Minute), rcpt{"hard@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityInvalid),
	))
	if sp := suppressedNow(t, s, "hard@example.org"); sp != nil || res.LiftedKept != 1 {
		t.Errorf("after unverified hard bounces: %+v, result %+v; want still lifted, 1 kept lifted", sp, res)
	}
	// A verified one does, as a fresh start.
	mustWrite(t, s, batchOf(withAuthenticity(msg(12, "l", lift.Add(time.Minute), rcpt{"hard@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityVerified)))
	sp := suppressedNow(t, s, "hard@example.org")
	if sp == nil || sp.Count != 1 || !sp.FirstSeen.Equal(lift.Add(time.Minute)) || sp.Manual {
		t.Errorf("after a new hard bounce: %+v; want suppressed afresh, count 1", sp)
	}
}

func TestAddSuppressionByHand(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	sp, err := s.AddSuppression(ctx, "Someone@Example.ORG", "complaint", "bob", "asked by phone to stop")
	if err != nil {
		t.Fatal(err)
	}
	if sp.Address != "Someone@example.org" || !sp.Manual || sp.ExpiresAt != nil || sp.Reason != "complaint" || sp.Scope != "recipient" {
		t.Errorf("added = %+v", sp)
	}
	if got := suppressedNow(t, s, "someone@example.org"); got == nil || !got.Manual {
		t.Errorf("case-insensitive lookup = %+v", got)
	}
	if _, err := s.AddSuppression(ctx, "x@example.org", "no_such", "bob", "n"); !errors.Is(err, ErrUnknownReason) {
		t.Errorf("unknown reason: %v", err)
	}
	if _, err := s.AddSuppression(ctx, "not-an-address", "complaint", "bob", "n"); !errors.Is(err, ErrBadAddress) {
		t.Errorf("bad address: %v", err)
	}
	if _, err := s.AddSuppression(ctx, "x@example.org", "complaint", "", ""); err == nil {
		t.Error("AddSuppression without who and why succeeded")
	}
	audit, err := s.Audit(ctx, "someone@example.org")
	if err != nil || len(audit) != 1 || audit[0].Action != "add" || audit[0].Actor != "bob" {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	// Since and the cursor page through the list.
	clk.Add(time.Hour)
	if _, err := s.AddSuppression(ctx, "later@example.org", "user_unknown", "bob", "bounced elsewhere"); err != nil {
		t.Fatal(err)
	}
	list := func(opts ListOptions) string {
		var got []string
		if err := s.EachSuppression(ctx, opts, func(sp Suppression) error { got = append(got, sp.Address); return nil }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	for _, c := range []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{}, "later@example.org,Someone@example.org"},
		{ListOptions{Limit: 1}, "later@example.org"},
		{ListOptions{After: "LATER@example.org"}, "Someone@example.org"},
		{ListOptions{Since: t0.Add(time.Minute)}, "later@example.org"},
		{ListOptions{Since: t0.Add(2 * time.Hour)}, ""},
	} {
		if got := list(c.opts); got != c.want {
			t.Errorf("EachSuppression(%+v) = %q, want %q", c.opts, got, c.want)
		}
	}
}

func TestViewsUseTheDatabaseClock(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t) // real clock: the views read now()
	now := time.Now().UTC()
	old := now.Add(-60 * day)
	mustWrite(t, s, batchOf(
		msg(1, "a", now, rcpt{"current@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", old, rcpt{"expired@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", old.Add(time.Hour), rcpt{"expired@example.org", dsn.ReasonMailboxFull}),
		msg(4, "d", old.Add(2*time.Hour), rcpt{"expired@example.org", dsn.ReasonMailboxFull}),
	))
	rows, err := s.pool.Query(ctx, `SELECT address FROM current_suppressions ORDER BY address`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(got) != 1 || got[0] != "current@example.org" {
		t.Errorf("current_suppressions = %v, %v; want only current@example.org", got, err)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM suppressions WHERE address = 'expired@example.org'`); n != 1 {
		t.Error("the expired suppression row is missing")
	}
	if n := queryInt(t, s, `SELECT sum(bounces) FROM daily_bounces WHERE reason = 'mailbox_full' AND recipient_domain = 'example.org'`); n != 3 {
		t.Errorf("daily_bounces counts %d mailbox_full bounces, want 3", n)
	}
	var suppressed bool
	if err := s.pool.QueryRow(ctx, `SELECT suppressed FROM soft_bounce_state WHERE address = 'expired@example.org'`).Scan(&suppressed); err != nil || suppressed {
		t.Errorf("soft_bounce_state says suppressed=%v (%v) for an expired suppression", suppressed, err)
	}
}

func TestNotifyOnNewSuppression(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
	mustWrite(t, s, batchOf(msg(1, "a", t0, rcpt{"New@Example.org", dsn.ReasonUserUnknown})))
	clk.Add(time.Minute)
	mustWrite(t, s, batchOf(msg(2, "b", t0, rcpt{"new@example.org", dsn.ReasonUserUnknown}))) // renewal: no notice
	clk.Add(time.Minute)
	mustWrite(t, s, batchOf(msg(3, "c", t0, rcpt{"other@example.org", dsn.ReasonComplaint})))
	var got []string
	for len(got) < 2 {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("waiting for notifications (have %v): %v", got, err)
		}
		got = append(got, n.Payload)
	}
	if got[0] != "New@example.org" || got[1] != "other@example.org" {
		t.Errorf("notifications = %v, want New@example.org then other@example.org", got)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if n, err := conn.Conn().WaitForNotification(short); err == nil {
		t.Errorf("unexpected notification %q", n.Payload)
	}
}
