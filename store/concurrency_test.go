package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

// TestConcurrentWritersCountEverythingOnce has several replicas write
// batches about the same addresses at once, with some messages delivered to
// every replica (the same content in each mailbox). Every unique message must
// be counted exactly once: in events, soft-bounce state, suppression counts
// and reputation counters.
func TestConcurrentWritersCountEverythingOnce(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0.Add(time.Hour))
	// A long window and expiry, so every soft bounce of the test counts.
	s := newTestStore(t, WithClock(clk.Now), WithPolicy(Policy{SoftThreshold: 3, SoftWindow: 365 * day, SoftExpiry: 365 * day}))

	const writers, batches, perBatch, shared = 4, 15, 30, 40
	hard := make([]string, 8)
	soft := make([]string, 8)
	for i := range hard {
		hard[i] = fmt.Sprintf("hard%d@example.org", i)
		soft[i] = fmt.Sprintf("soft%d@example.net", i)
	}
	// spell varies the case of the domain, which must not matter.
	spell := func(r *rand.Rand, a string) string {
		if r.IntN(2) == 0 {
			at := strings.IndexByte(a, '@')
			return a[:at] + strings.ToUpper(a[at:])
		}
		return a
	}

	type unique struct {
		content string
		addr    string
		reason  dsn.Reason
		at      time.Time
	}
	// The shared messages: every writer gets all of them.
	var sharedMsgs []unique
	r0 := rand.New(rand.NewPCG(1, 2))
	for i := range shared {
		u := unique{content: fmt.Sprintf("shared-%d", i), at: t0.Add(time.Duration(i) * time.Second)}
		if i%2 == 0 {
			u.addr, u.reason = hard[r0.IntN(len(hard))], dsn.ReasonUserUnknown
		} else {
			u.addr, u.reason = soft[r0.IntN(len(soft))], dsn.ReasonMailboxFull
		}
		sharedMsgs = append(sharedMsgs, u)
	}

	var mu sync.Mutex
	all := map[string]unique{}
	for _, u := range sharedMsgs {
		all[u.content] = u
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			mailbox := fmt.Sprintf("replica-%d", w)
			uid := uint32(0)
			pending := r.Perm(len(sharedMsgs))
			for b := range batches {
				var msgs []Message
				for i := range perBatch {
					uid++
					var u unique
					if len(pending) > 0 && i%3 == 0 {
						u, pending = sharedMsgs[pending[0]], pending[1:]
					} else {
						u = unique{content: fmt.Sprintf("w%d-b%d-m%d", w, b, i),
							at: t0.Add(time.Duration(r.IntN(3600)) * time.Second)}
						switch r.IntN(4) {
						case 0:
							u.addr, u.reason = hard[r.IntN(len(hard))], dsn.ReasonUserUnknown
						case 1:
							u.addr, u.reason = soft[r.IntN(len(soft))], dsn.ReasonGreylisted
						case 2:
							u.addr, u.reason = soft[r.IntN(len(soft))], dsn.ReasonMailboxFull
						default:
							u.addr, u.reason = hard[r.IntN(len(hard))], dsn.ReasonBlocklisted
						}
						mu.Lock()
						all[u.content] = u
						mu.Unlock()
					}
					msgs = append(msgs, msg(uid, u.content, u.at, rcpt{spell(r, u.addr), u.reason}))
				}
				batch := Batch{Mailbox: mailbox, UIDValidity: 1, LastUID: uid, Messages: msgs}
				if _, err := s.WriteBatch(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
			// Whatever shared messages are left come last.
			for _, i := range pending {
				uid++
				u := sharedMsgs[i]
				batch := Batch{Mailbox: mailbox, UIDValidity: 1, LastUID: uid,
					Messages: []Message{msg(uid, u.content, u.at, rcpt{u.addr, u.reason})}}
				if _, err := s.WriteBatch(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent WriteBatch: %v", err)
	}

	// What a serial, exactly-once count gives.
	perAddr := map[string]int64{}
	var incidents int64
	for _, u := range all {
		if classes[u.reason].Verdict == dsn.VerdictAlert {
			incidents++
		} else {
			perAddr[u.addr]++
		}
	}
	if n := queryInt(t, s, `SELECT count(*) FROM processed_messages`); n != int64(len(all)) {
		t.Errorf("ledger holds %d messages, want %d", n, len(all))
	}
	if n := queryInt(t, s, `SELECT count(*) FROM bounce_events`); n != int64(len(all)) {
		t.Errorf("%d events, want %d", n, len(all))
	}
	if n := queryInt(t, s, `SELECT sum(incidents) FROM reputation_daily`); n != incidents {
		t.Errorf("reputation counters sum to %d, want %d", n, incidents)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM suppressions`); n > int64(len(hard)+len(soft)) {
		t.Errorf("%d suppression rows for %d addresses: case variants made duplicates", n, len(hard)+len(soft))
	}
	for _, a := range soft {
		want := perAddr[a]
		if got := queryInt(t, s, `SELECT counted_bounces FROM soft_bounce_state WHERE lower(address) = $1`, a); got != want {
			t.Errorf("%s: %d soft bounces counted, want %d", a, got, want)
		}
		if want >= 3 {
			if sp := suppressedNow(t, s, a); sp == nil || int64(sp.Count) != want {
				t.Errorf("%s: suppression %+v, want count %d", a, sp, want)
			}
		}
	}
	for _, a := range hard {
		want := perAddr[a]
		sp := suppressedNow(t, s, a)
		switch {
		case want == 0 && sp != nil:
			t.Errorf("%s suppressed without a hard bounce", a)
		case want > 0 && (sp == nil || int64(sp.Count) != want):
			t.Errorf("%s: suppression %+v, want count %d", a, sp, want)
		}
	}
	for w := range writers {
		cp, err := s.Checkpoint(ctx, fmt.Sprintf("replica-%d", w))
		if err != nil || cp.LastUID != batches*perBatch {
			t.Errorf("replica-%d checkpoint = %+v, %v", w, cp, err)
		}
	}
}
