package imapwatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bounced/bounced/store"
)

// Leaser is the lease table of the database (*store.Store implements it):
// which replica works which mailbox. See store.Lease.
type Leaser interface {
	// Register renews the replica's heartbeat and returns the live
	// replicas with the mailboxes each watches.
	Register(ctx context.Context, replica string, mailboxes []string, ttl time.Duration) ([]store.Replica, error)
	// Retire removes the replica and frees its leases.
	Retire(ctx context.Context, replica string) error
	// AcquireLeases takes the free leases among want.
	AcquireLeases(ctx context.Context, replica string, want []string, ttl time.Duration) ([]store.Lease, error)
	// RenewLeases extends the leases of held still held and returns them.
	RenewLeases(ctx context.Context, replica string, held []store.Lease, ttl time.Duration) ([]store.Lease, error)
	// ReleaseLeases frees leases.
	ReleaseLeases(ctx context.Context, leases []store.Lease) error
}

// DefaultTakeoverAfter bounds how long the mailboxes of a replica whose
// heartbeat stopped stay unworked (config key takeover_after).
const DefaultTakeoverAfter = 30 * time.Second

// leaseTimes derives the lease duration and the heartbeat interval from the
// take-over bound: a lease lasts three quarters of it and is renewed every
// quarter, so a stopped replica's leases expire, and its heartbeat ages out,
// at most ttl after its last renewal, and the others notice within one
// more heartbeat.
func leaseTimes(takeoverAfter time.Duration) (ttl, heartbeat time.Duration) {
	if takeoverAfter <= 0 {
		takeoverAfter = DefaultTakeoverAfter
	}
	return takeoverAfter * 3 / 4, takeoverAfter / 4
}

// Causes with which a held lease's context ends.
var (
	errLeaseLost   = errors.New("the mailbox's lease was lost (another replica took it over, or it expired)")
	errHandedOver  = errors.New("the mailbox was handed over to the replica whose share it now is")
	errLeasesStale = errors.New("the leases could not be renewed within their lifetime")
)

// LeaseStats counts what a replica did with its leases since it started,
// for metrics.
type LeaseStats struct {
	Replica   string
	Held      int    // leases held now
	Losses    uint64 // leases lost: taken over by another replica, or expired unrenewed
	TakeOvers uint64 // leases taken from a replica whose lease had expired
}

// slot is the scheduler's state of one mailbox: the lease this replica holds
// on it (if any) and the context of that lease, which ends when the lease
// is lost or handed over.
type slot struct {
	w *Watcher

	mu       sync.Mutex
	held     bool
	lease    store.Lease
	ctx      context.Context // the lease's; nil while not held
	cancel   context.CancelCauseFunc
	running  bool
	handOver bool          // release when the running pass ends
	granted  chan struct{} // a value after each grant (IDLE waits on it)
}

func newSlot(w *Watcher) *slot {
	return &slot{w: w, granted: make(chan struct{}, 1)}
}

// grant makes l the slot's lease, its context a child of parent.
func (s *slot) grant(parent context.Context, l store.Lease) {
	s.mu.Lock()
	s.held, s.lease, s.handOver = true, l, false
	s.ctx, s.cancel = context.WithCancelCause(parent)
	s.mu.Unlock()
	select {
	case s.granted <- struct{}{}:
	default:
	}
}

// current returns the lease and its context, or ok=false when not held.
func (s *slot) current() (l store.Lease, ctx context.Context, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease, s.ctx, s.held
}

// begin marks the slot running and returns its lease, unless it holds none
// or its lease is ending.
func (s *slot) begin() (l store.Lease, ctx context.Context, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held || s.ctx.Err() != nil {
		return store.Lease{}, nil, false
	}
	s.running = true
	return s.lease, s.ctx, true
}

// end ends the lease held at generation gen with cause, if it is still the
// one held; it reports whether it was.
func (s *slot) end(gen int64, cause error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held || s.lease.Generation != gen {
		return false
	}
	s.held, s.handOver = false, false
	s.cancel(cause)
	s.ctx, s.cancel = nil, nil
	s.w.clearError() // the next holder reports on the mailbox now
	return true
}

// waitHeld blocks until the slot holds a lease that is not ending and
// returns its context, or returns false when ctx is done.
func (s *slot) waitHeld(ctx context.Context) (context.Context, bool) {
	for {
		if ctx.Err() != nil {
			return nil, false
		}
		if _, lctx, ok := s.current(); ok && lctx.Err() == nil {
			return lctx, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-s.granted:
		}
	}
}

// coordinator keeps this replica's leases: it renews them, takes its share
// of the mailboxes and hands over the rest, on every heartbeat.
type coordinator struct {
	leases  Leaser
	replica string
	ttl     time.Duration
	beat    time.Duration
	slots   map[string]*slot
	names   []string
	log     *slog.Logger

	lastRenewed time.Time // start of the last heartbeat that renewed
	failures    int       // heartbeats failed in a row

	losses, takeOvers atomic.Uint64
}

// run registers the replica, waits one heartbeat so that replicas started
// together see each other before they share, and then beats until ctx is
// done. The Scheduler retires the replica once its passes have finished.
func (c *coordinator) run(ctx context.Context, knock func(*slot)) {
	c.lastRenewed = time.Now()
	if _, err := c.leases.Register(ctx, c.replica, c.names, c.ttl); err != nil {
		c.log.Warn("cannot register this replica; retrying at the next heartbeat", "err", err)
	}
	// First heartbeat after about one interval, jittered, so replicas
	// started in the same second do not beat in lock step.
	wait := c.beat/2 + rand.N(c.beat)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		c.heartbeat(ctx, knock)
		wait = c.beat*4/5 + rand.N(c.beat/5+1) // at most one interval: the take-over bound holds
	}
}

// heartbeat is one round: register, renew, hand over, take.
func (c *coordinator) heartbeat(ctx context.Context, knock func(*slot)) {
	start := time.Now()
	live, err := c.leases.Register(ctx, c.replica, c.names, c.ttl)
	var held []store.Lease
	if err == nil {
		held = c.heldLeases()
		var kept []store.Lease
		kept, err = c.leases.RenewLeases(ctx, c.replica, held, c.ttl)
		if err == nil {
			c.lastRenewed = start
			c.dropLost(held, kept)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.failures++
		if c.failures >= 3 {
			c.log.Warn("the leases keep failing: this replica cannot reach the lease table", "failed_heartbeats", c.failures, "err", err)
		} else {
			c.log.Info("heartbeat failed; retrying at the next one", "err", err)
		}
		if time.Since(c.lastRenewed) >= c.ttl {
			c.endAll(errLeasesStale)
		}
		return
	}
	if c.failures > 0 {
		c.log.Info("heartbeat works again", "after_failures", c.failures)
		c.failures = 0
	}

	mine := assign(live)
	var release []store.Lease
	var want []string
	for _, name := range c.names {
		s := c.slots[name]
		l, _, ok := s.current()
		switch {
		case ok && mine[name] != c.replica:
			s.mu.Lock()
			if s.running {
				s.handOver = true
				s.cancel(errHandedOver) // the pass stops after its batch in hand
				s.mu.Unlock()
				continue
			}
			s.mu.Unlock()
			if s.end(l.Generation, errHandedOver) {
				release = append(release, l)
			}
		case !ok && mine[name] == c.replica:
			want = append(want, name)
		}
	}
	if len(release) > 0 {
		if err := c.leases.ReleaseLeases(ctx, release); err != nil {
			c.log.Info("cannot release leases; they expire on their own", "err", err)
		}
		c.log.Info("handed mailboxes over to the replicas whose share they are", "count", len(release), "to", owners(mine, release))
	}
	if len(want) > 0 {
		taken, err := c.leases.AcquireLeases(ctx, c.replica, want, c.ttl)
		if err != nil {
			c.log.Info("cannot take leases; retrying at the next heartbeat", "err", err)
		}
		for _, l := range taken {
			s := c.slots[l.Mailbox]
			s.grant(ctx, l)
			if l.From != "" && l.From != c.replica {
				c.takeOvers.Add(1)
				c.log.Warn("took a mailbox over from a replica whose lease expired", "mailbox", l.Mailbox, "from", l.From, "generation", l.Generation)
			} else {
				c.log.Debug("lease taken", "mailbox", l.Mailbox, "generation", l.Generation)
			}
			knock(s)
		}
	}
}

// heldLeases returns the leases held now.
func (c *coordinator) heldLeases() []store.Lease {
	var held []store.Lease
	for _, name := range c.names {
		if l, _, ok := c.slots[name].current(); ok {
			held = append(held, l)
		}
	}
	return held
}

// dropLost ends each lease of held that the renewal did not keep.
func (c *coordinator) dropLost(held, kept []store.Lease) {
	ok := make(map[string]bool, len(kept))
	for _, l := range kept {
		ok[l.Mailbox] = true
	}
	for _, l := range held {
		if ok[l.Mailbox] {
			continue
		}
		if c.slots[l.Mailbox].end(l.Generation, errLeaseLost) {
			c.losses.Add(1)
			c.log.Warn("lease lost: another replica took the mailbox over, or the lease expired; its pass stops", "mailbox", l.Mailbox, "generation", l.Generation)
		}
	}
}

// endAll ends every lease held with cause (they could not be renewed in
// time: the database refuses their batches anyway).
func (c *coordinator) endAll(cause error) {
	for _, l := range c.heldLeases() {
		if c.slots[l.Mailbox].end(l.Generation, cause) {
			c.losses.Add(1)
			c.log.Warn("lease given up: it could not be renewed in time", "mailbox", l.Mailbox, "generation", l.Generation)
		}
	}
}

// refused ends lease l of slot s after the database refused one of its
// batches (store.ErrLeaseLost): another replica has the mailbox now.
func (c *coordinator) refused(s *slot, l store.Lease) {
	if s.end(l.Generation, errLeaseLost) {
		c.losses.Add(1)
	}
}

// passEnded releases the slot's lease when it was to be handed over.
func (c *coordinator) passEnded(ctx context.Context, s *slot) {
	s.mu.Lock()
	s.running = false
	handOver, l := s.handOver && s.held, s.lease
	s.mu.Unlock()
	if !handOver || !s.end(l.Generation, errHandedOver) {
		return
	}
	if err := c.leases.ReleaseLeases(context.WithoutCancel(ctx), []store.Lease{l}); err != nil {
		c.log.Info("cannot release a lease; it expires on its own", "mailbox", l.Mailbox, "err", err)
	}
}

// retire frees this replica's leases and heartbeat row on shutdown, after
// the last batch in hand was written, so the others take its mailboxes
// over at once.
func (c *coordinator) retire() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.leases.Retire(ctx, c.replica); err != nil {
		c.log.Warn("cannot retire this replica; its leases expire on their own", "err", err)
	}
	for _, l := range c.heldLeases() {
		c.slots[l.Mailbox].end(l.Generation, context.Canceled)
	}
}

// stats returns the lease counters.
func (c *coordinator) stats() LeaseStats {
	return LeaseStats{Replica: c.replica, Held: len(c.heldLeases()), Losses: c.losses.Load(), TakeOvers: c.takeOvers.Load()}
}

// owners lists the replicas the released leases go to.
func owners(mine map[string]string, released []store.Lease) []string {
	var to []string
	for _, l := range released {
		if r := mine[l.Mailbox]; !slices.Contains(to, r) {
			to = append(to, r)
		}
	}
	slices.Sort(to)
	return to
}

// assign shares the mailboxes among the live replicas: each mailbox goes to
// one of the replicas that watch it. It is rendezvous hashing with bounded
// loads: a mailbox goes to the watching replica that scores highest for it
// (a hash of both names), unless that replica already has its fair share
// (the mailboxes divided by the replicas, rounded up), in which case the
// next one in score order takes it, or, when all of them have, the least
// loaded. Every replica computes the same answer from the same list, a
// replica that joins or leaves moves few mailboxes, and the shares differ by
// at most one when every replica watches every mailbox.
func assign(live []store.Replica) map[string]string {
	watchers := map[string][]string{}
	for _, r := range live {
		for _, m := range r.Mailboxes {
			if !slices.Contains(watchers[m], r.Name) {
				watchers[m] = append(watchers[m], r.Name)
			}
		}
	}
	if len(live) == 0 {
		return nil
	}
	mailboxes := make([]string, 0, len(watchers))
	for m := range watchers {
		mailboxes = append(mailboxes, m)
	}
	// A fixed order that does not favour early names.
	slices.SortFunc(mailboxes, func(a, b string) int {
		return cmp.Or(cmp.Compare(score("", a), score("", b)), cmp.Compare(a, b))
	})
	fair := (len(mailboxes) + len(live) - 1) / len(live)
	load := map[string]int{}
	out := make(map[string]string, len(mailboxes))
	for _, m := range mailboxes {
		cands := watchers[m]
		slices.SortFunc(cands, func(a, b string) int {
			return cmp.Or(cmp.Compare(score(b, m), score(a, m)), cmp.Compare(a, b))
		})
		pick := ""
		for _, r := range cands {
			if load[r] < fair {
				pick = r
				break
			}
		}
		if pick == "" {
			pick = slices.MinFunc(cands, func(a, b string) int { return cmp.Compare(load[a], load[b]) })
		}
		load[pick]++
		out[m] = pick
	}
	return out
}

// score is the rendezvous weight of replica for mailbox.
func score(replica, mailbox string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", replica, mailbox)
	x := h.Sum64()
	// splitmix64's finaliser spreads FNV's weak low bits.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
