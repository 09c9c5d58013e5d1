package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

func TestLeasesTakeRenewRelease(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	const ttl = time.Minute

	live, err := s.Register(ctx, "r1", []string{"a", "b"}, ttl)
	if err != nil || len(live) != 1 || live[0].Name != "r1" || !slices.Equal(live[0].Mailboxes, []string{"a", "b"}) {
		t.Fatalf("Register r1 = %+v, %v", live, err)
	}
	if live, err = s.Register(ctx, "r2", []string{"a"}, ttl); err != nil || len(live) != 2 || live[1].Name != "r2" {
		t.Fatalf("Register r2 = %+v, %v", live, err)
	}

	got, err := s.AcquireLeases(ctx, "r1", []string{"a", "b"}, ttl)
	if err != nil || len(got) != 2 || got[0].Generation != 1 || got[0].From != "" {
		t.Fatalf("r1 AcquireLeases(a, b) = %+v, %v", got, err)
	}
	// Held: nobody else takes them.
	if again, err := s.AcquireLeases(ctx, "r2", []string{"a", "b"}, ttl); err != nil || len(again) != 0 {
		t.Errorf("r2 took held leases: %+v, %v", again, err)
	}
	// r1 restarted after a crash takes its own back at once, at a new
	// generation: the old process's batches are refused.
	again, err := s.AcquireLeases(ctx, "r1", []string{"b"}, ttl)
	if err != nil || len(again) != 1 || again[0].Generation != 2 {
		t.Fatalf("r1 taking its own lease back = %+v, %v", again, err)
	}
	stale := batchOf()
	stale.Mailbox, stale.LastUID, stale.Lease = "b", 1, got[1]
	if _, err := s.WriteBatch(ctx, stale); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a batch of the crashed process = %v, want ErrLeaseLost", err)
	}
	got[1] = again[0]
	kept, err := s.RenewLeases(ctx, "r1", got, ttl)
	if err != nil || len(kept) != 2 {
		t.Fatalf("RenewLeases = %+v, %v", kept, err)
	}
	// A lease of the wrong generation is not renewed.
	if kept, err := s.RenewLeases(ctx, "r1", []Lease{{Mailbox: "a", Replica: "r1", Generation: 7}}, ttl); err != nil || len(kept) != 0 {
		t.Errorf("renewed a lease of another generation: %+v, %v", kept, err)
	}

	// Released: the next replica takes it at once, at the next generation,
	// and it is no take-over.
	if err := s.ReleaseLeases(ctx, got[:1]); err != nil {
		t.Fatal(err)
	}
	next, err := s.AcquireLeases(ctx, "r2", []string{"a"}, ttl)
	if err != nil || len(next) != 1 || next[0].Generation != 2 || next[0].From != "" {
		t.Fatalf("r2 AcquireLeases(a) after release = %+v, %v", next, err)
	}
	if kept, err := s.RenewLeases(ctx, "r1", got, ttl); err != nil || len(kept) != 1 || kept[0].Mailbox != "b" {
		t.Errorf("r1 renewal after losing a = %+v, %v", kept, err)
	}

	// Retire frees every lease of the replica and drops it from the live.
	if err := s.Retire(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if live, err = s.Register(ctx, "r2", []string{"a"}, ttl); err != nil || len(live) != 1 || live[0].Name != "r2" {
		t.Errorf("live after r1 retired = %v, %v", live, err)
	}
	if b, err := s.AcquireLeases(ctx, "r2", []string{"b"}, ttl); err != nil || len(b) != 1 || b[0].Generation != 3 {
		t.Errorf("r2 AcquireLeases(b) after r1 retired = %+v, %v", b, err)
	}
}

// TestLeaseTakeOverFencesTheLateWriter: a replica whose lease expired (it
// was frozen, its heartbeat stopped) is taken over, and its late write is
// refused with ErrLeaseLost and leaves nothing behind, while the new
// holder's write goes through.
func TestLeaseTakeOverFencesTheLateWriter(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	const ttl = 300 * time.Millisecond

	if _, err := s.Register(ctx, "frozen", []string{"INBOX"}, ttl); err != nil {
		t.Fatal(err)
	}
	old, err := s.AcquireLeases(ctx, "frozen", []string{"INBOX"}, ttl)
	if err != nil || len(old) != 1 {
		t.Fatalf("AcquireLeases = %+v, %v", old, err)
	}
	b1 := batchOf(msg(1, "one", t0, rcpt{"a@example.org", dsn.ReasonUserUnknown}))
	b1.Lease = old[0]
	mustWrite(t, s, b1)

	// Not yet expired: the other replica cannot take it, orphan or not.
	if got, _ := s.AcquireLeases(ctx, "healthy", []string{"INBOX"}, ttl); len(got) != 0 {
		t.Fatalf("took a live lease: %+v", got)
	}
	var taken []Lease
	waitFor(t, "the expired lease to be taken over", func() bool {
		taken, err = s.AcquireLeases(ctx, "healthy", []string{"INBOX"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return len(taken) == 1
	})
	if live, err := s.Register(ctx, "healthy", []string{"INBOX"}, ttl); err != nil || len(live) != 1 || live[0].Name != "healthy" {
		t.Errorf("live replicas after the frozen one's heartbeat stopped = %+v, %v", live, err)
	}
	if taken[0].Generation != 2 || taken[0].From != "frozen" {
		t.Errorf("take-over = %+v, want generation 2 from frozen", taken[0])
	}

	late := batchOf(msg(2, "two", t0, rcpt{"b@example.org", dsn.ReasonUserUnknown}))
	late.LastUID = 2
	late.Lease = old[0]
	before := snapshot(t, s)
	if _, err := s.WriteBatch(ctx, late); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("late WriteBatch = %v, want ErrLeaseLost", err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("the refused batch left something behind: %v, was %v", after, before)
	}
	if kept, err := s.RenewLeases(ctx, "frozen", old, ttl); err != nil || len(kept) != 0 {
		t.Errorf("the frozen replica renewed a lease it lost: %+v, %v", kept, err)
	}

	late.Lease = taken[0]
	mustWrite(t, s, late)
	if n := queryInt(t, s, `SELECT count(*) FROM processed_messages WHERE replica = 'healthy'`); n != 1 {
		t.Errorf("%d messages recorded by healthy, want 1", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM processed_messages WHERE replica = 'frozen'`); n != 1 {
		t.Errorf("%d messages recorded by frozen, want 1", n)
	}
}

// TestLeaseSurvivesIdleSessionTimeout: with idle_session_timeout of one
// second on the database, the server closes every idle session; leases live
// in rows, not in sessions, so they are neither lost nor doubled, and the
// store goes on writing.
func TestLeaseSurvivesIdleSessionTimeout(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var db string
	if err := s.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ALTER DATABASE `+db+` SET idle_session_timeout = '1s'`); err != nil {
		t.Fatal(err)
	}
	s.pool.Reset() // new sessions get the setting
	held, err := s.AcquireLeases(ctx, "r1", []string{"INBOX"}, time.Minute)
	if err != nil || len(held) != 1 {
		t.Fatalf("AcquireLeases = %+v, %v", held, err)
	}
	time.Sleep(1500 * time.Millisecond) // the server ends the idle sessions
	if got, err := s.AcquireLeases(ctx, "r2", []string{"INBOX"}, time.Minute); err != nil || len(got) != 0 {
		t.Errorf("another replica took the lease after the sessions timed out: %+v, %v", got, err)
	}
	b := batchOf(msg(1, "one", t0, rcpt{"a@example.org", dsn.ReasonUserUnknown}))
	b.Lease = held[0]
	if _, err := s.WriteBatch(ctx, b); err != nil {
		t.Fatalf("WriteBatch after the idle sessions timed out: %v", err)
	}
}
