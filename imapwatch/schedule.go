package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/robfig/cron/v3"

	"github.com/bounced/bounced/store"
)

// idleRefresh is how long one IDLE runs before a NOOP checks that the
// connection is still alive (a silently dropped connection never ends IDLE).
const idleRefresh = 5 * time.Minute

// maxIdleBackoff caps the wait between IDLE reconnection attempts.
const maxIdleBackoff = 5 * time.Minute

// Scheduler runs every watcher on its cron schedule, never two passes of one
// mailbox at once, and wakes a mailbox early when IDLE reports new mail.
// With leases it works only the mailboxes whose lease this replica holds.
type Scheduler struct {
	watchers []*Watcher
	log      *slog.Logger
	opts     SchedulerOptions
	coord    *coordinator // nil without leases
	slots    []*slot      // one per watcher, in order
}

// SchedulerOptions tunes a Scheduler. The zero value works every mailbox in
// this process, without leases and without a bound on parallel passes.
type SchedulerOptions struct {
	// Leases, when set, shares the mailboxes among the replicas: this one
	// registers by heartbeat, takes the leases of its share (rendezvous
	// hashing over the live replicas), hands over the rest, and passes and
	// IDLE connections run only for the mailboxes it holds.
	Leases Leaser
	// Replica names this replica in the lease table; required with Leases.
	Replica string
	// TakeoverAfter bounds how long the mailboxes of a replica whose
	// heartbeat stopped stay unworked; 0 means DefaultTakeoverAfter.
	TakeoverAfter time.Duration
	// MaxParallel bounds the passes running at once; 0 means no bound.
	MaxParallel int
}

// NewScheduler returns a scheduler for the watchers. logger must not be nil.
func NewScheduler(watchers []*Watcher, logger *slog.Logger, opts SchedulerOptions) *Scheduler {
	s := &Scheduler{watchers: watchers, log: logger, opts: opts, slots: make([]*slot, len(watchers))}
	for i, w := range watchers {
		s.slots[i] = newSlot(w)
	}
	if opts.Leases != nil {
		ttl, beat := leaseTimes(opts.TakeoverAfter)
		s.coord = &coordinator{leases: opts.Leases, replica: opts.Replica, ttl: ttl, beat: beat,
			slots: map[string]*slot{}, log: logger.With("replica", opts.Replica)}
		for _, sl := range s.slots {
			s.coord.slots[sl.w.m.Name] = sl
			s.coord.names = append(s.coord.names, sl.w.m.Name)
		}
	}
	return s
}

// LeaseStats returns the replica's lease counters; zero without leases.
func (s *Scheduler) LeaseStats() LeaseStats {
	if s.coord == nil {
		return LeaseStats{Replica: s.opts.Replica}
	}
	return s.coord.stats()
}

// Statuses returns the state of every mailbox.
func (s *Scheduler) Statuses() []Status {
	out := make([]Status, len(s.watchers))
	for i, w := range s.watchers {
		out[i] = w.Status()
	}
	return out
}

// Run works every mailbox once at start and then on its schedule until ctx
// is done; it returns when the running passes have finished. With leases,
// "every mailbox" is every mailbox whose lease this replica holds: a
// mailbox's first pass starts when its lease is taken.
//
// Each mailbox has one worker goroutine that runs passes one after another.
// Cron ticks and IDLE notifications only knock on its door (a channel of one):
// a tick that arrives while a pass runs results in one more pass after it,
// never in two at once, and a pass that panics is logged and recovered in the
// worker so the mailbox keeps its schedule. Ticks are jittered (up to a tenth
// of the interval, at most five seconds) so that replicas do not tick in lock
// step.
func (s *Scheduler) Run(ctx context.Context) error {
	c := cron.New(cron.WithLogger(cronLogger{s.log}))
	scheds := make([]cron.Schedule, len(s.watchers))
	intervals := make([]time.Duration, len(s.watchers))
	for i, w := range s.watchers {
		sc, err := cron.ParseStandard(w.m.Schedule)
		if err != nil {
			return fmt.Errorf("scheduling mailbox %s: %w", w.m.Name, err)
		}
		scheds[i] = sc
		intervals[i] = scheduleInterval(sc, time.Now())
	}
	var sem chan struct{}
	if s.opts.MaxParallel > 0 {
		sem = make(chan struct{}, s.opts.MaxParallel)
	}
	knocks := map[*slot]func(){}
	var wg sync.WaitGroup
	for i, w := range s.watchers {
		sl := s.slots[i]
		interval := intervals[i]
		kick := make(chan struct{}, 1)
		knock := func() {
			select {
			case kick <- struct{}{}:
			default: // a pass is already due
			}
		}
		knocks[sl] = knock
		jitter := jitterOf(scheds[i])
		c.Schedule(scheds[i], cron.FuncJob(func() {
			if _, _, held := sl.current(); !held {
				w.log.Debug("tick skipped: another replica holds this mailbox")
				return
			}
			time.AfterFunc(rand.N(jitter+1), knock)
		}))
		if s.coord == nil {
			sl.grant(ctx, store.Lease{Mailbox: w.m.Name, Replica: s.opts.Replica})
			knock() // first pass at start
		}
		wg.Go(func() { s.worker(ctx, sl, kick, sem, interval) })
		if w.m.Idle {
			wg.Go(func() {
				for {
					lctx, ok := sl.waitHeld(ctx)
					if !ok {
						return
					}
					w.idle(lctx, knock)
				}
			})
		}
	}
	if s.coord != nil {
		wg.Go(func() { s.coord.run(ctx, func(sl *slot) { knocks[sl]() }) })
	}
	c.Start()
	s.log.Info("scheduler started", "mailboxes", len(s.watchers), "replica", s.opts.Replica,
		"leases", s.coord != nil, "max_parallel", s.opts.MaxParallel)
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	if s.coord != nil {
		s.coord.retire()
	}
	return nil
}

// jitterOf returns the most a tick of sc is delayed: a tenth of its
// interval, at most five seconds.
func jitterOf(sc cron.Schedule) time.Duration {
	return min(scheduleInterval(sc, time.Now())/10, 5*time.Second)
}

// worker runs a pass per knock, under the slot's lease, until ctx is done.
//
// A pass that failed in a way a retry may heal (PostgreSQL or the IMAP
// server unreachable) is run again without waiting for the next tick:
// after Options.Backoff, then twice as long each time, at most interval
// (the schedule's period), until a pass succeeds. A pass that cannot heal
// (NotRetriedError: certificate, login, configuration), that panicked, or
// whose lease ended waits for the next tick.
func (s *Scheduler) worker(ctx context.Context, sl *slot, kick <-chan struct{}, sem chan struct{}, interval time.Duration) {
	var (
		retry   <-chan time.Time
		backoff time.Duration
	)
	w := sl.w
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-retry:
		}
		retry = nil
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		l, lctx, ok := sl.begin()
		if !ok {
			w.log.Debug("pass skipped: another replica holds this mailbox")
			if sem != nil {
				<-sem
			}
			continue
		}
		err := w.safePass(lctx, l)
		if s.coord != nil && errors.Is(err, store.ErrLeaseLost) {
			s.coord.refused(sl, l)
		}
		leaseEnded := lctx.Err() != nil
		if s.coord != nil {
			s.coord.passEnded(ctx, sl)
		} else {
			sl.mu.Lock()
			sl.running = false
			sl.mu.Unlock()
		}
		if sem != nil {
			<-sem
		}
		var notRetried *NotRetriedError
		if err == nil || ctx.Err() != nil || leaseEnded || errors.Is(err, store.ErrLeaseLost) ||
			errors.As(err, &notRetried) || errors.Is(err, errPanicked) {
			backoff = 0
			continue
		}
		backoff = nextBackoff(backoff, w.opts.Backoff, interval)
		w.log.Warn("pass failed, trying again before the next scheduled tick", "retry_in", backoff)
		retry = time.After(backoff)
	}
}

// nextBackoff returns the wait before the next retry of a failed pass:
// first, then twice the previous one, never more than ceiling (when > 0).
func nextBackoff(prev, first, ceiling time.Duration) time.Duration {
	next := first
	if prev > 0 {
		next = prev * 2
	}
	if ceiling > 0 && next > ceiling {
		next = ceiling
	}
	return next
}

// scheduleInterval returns the period of a schedule: the time between its
// next two activations after now.
func scheduleInterval(spec cron.Schedule, now time.Time) time.Duration {
	first := spec.Next(now)
	return spec.Next(first).Sub(first)
}

// errPanicked marks a pass that panicked.
var errPanicked = errors.New("pass panicked")

// safePass runs one pass under lease l, logs its outcome and turns a panic
// into an error wrapping errPanicked. It returns the pass's error.
func (w *Watcher) safePass(ctx context.Context, l store.Lease) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", errPanicked, v)
			w.finish(Stats{}, err)
			w.log.Error("pass panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	st, err := w.passUnder(ctx, l)
	cause := context.Cause(ctx)
	switch {
	case errors.Is(err, store.ErrLeaseLost) || (err != nil && errors.Is(cause, errLeaseLost)):
		w.log.Warn("pass stopped: the mailbox's lease was lost", "stats", st, "generation", l.Generation, "err", err)
	case err != nil && errors.Is(cause, errLeasesStale):
		w.log.Warn("pass stopped: the leases could not be renewed", "stats", st, "err", err)
	case err != nil && errors.Is(cause, errHandedOver):
		w.log.Info("pass stopped: the mailbox was handed over to another replica", "stats", st)
	case err != nil && ctx.Err() != nil:
		w.log.Info("pass stopped by shutdown", "stats", st, "err", err)
	case err != nil:
		w.log.Error("pass failed", "stats", st, "err", err)
	case st.Messages > 0:
		w.log.Info("pass done", "stats", st)
	default:
		w.log.Debug("pass done, nothing new", "stats", st)
	}
	return err
}

// idle keeps an IDLE connection on the mailbox and knocks when the server
// reports new messages, reconnecting with exponential backoff.
func (w *Watcher) idle(ctx context.Context, knock func()) {
	backoff := w.opts.Backoff
	for {
		start := time.Now()
		err := w.idleSession(ctx, knock)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > maxIdleBackoff {
			backoff = w.opts.Backoff
		}
		w.log.Warn("IDLE connection lost, reconnecting", "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxIdleBackoff)
	}
}

// idleSession runs one IDLE connection until it fails or ctx is done.
func (w *Watcher) idleSession(ctx context.Context, knock func()) error {
	news := make(chan struct{}, 1)
	handler := &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil && *data.NumMessages > 0 {
				select {
				case news <- struct{}{}:
				default:
				}
			}
		},
	}
	s, err := dial(ctx, w.m, w.tokens, handler, w.log)
	if err != nil {
		return err
	}
	defer s.close()
	if !s.caps().Has(imap.CapIdle) {
		w.log.Warn("server does not support IDLE: relying on the schedule alone")
		<-ctx.Done()
		return nil
	}
	if err := s.step("selecting "+w.m.Folder, func() error {
		_, err := s.c.Select(w.m.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	}); err != nil {
		return err
	}
	for {
		var cmd *imapclient.IdleCommand
		if err := s.step("starting IDLE", func() (err error) {
			cmd, err = s.c.Idle()
			return err
		}); err != nil {
			return err
		}
		w.log.Debug("IDLE started")
		refresh := time.NewTimer(idleRefresh)
		var stopErr error
	wait:
		for {
			select {
			case <-ctx.Done():
				break wait
			case <-s.c.Closed():
				stopErr = fmt.Errorf("IDLE connection closed by the server")
				break wait
			case <-news:
				w.log.Debug("IDLE: new message")
				knock()
			case <-refresh.C:
				break wait
			}
		}
		refresh.Stop()
		if err := s.step("stopping IDLE", func() error {
			if err := cmd.Close(); err != nil {
				return err
			}
			return cmd.Wait()
		}); err != nil && stopErr == nil && ctx.Err() == nil {
			stopErr = err
		}
		if stopErr != nil || ctx.Err() != nil {
			return stopErr
		}
		if err := s.step("checking the IDLE connection", func() error { return s.c.Noop().Wait() }); err != nil {
			return err
		}
	}
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
