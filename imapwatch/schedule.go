package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/robfig/cron/v3"
)

// idleRefresh is how long one IDLE runs before a NOOP checks that the
// connection is still alive (a silently dropped connection never ends IDLE).
const idleRefresh = 5 * time.Minute

// maxIdleBackoff caps the wait between IDLE reconnection attempts.
const maxIdleBackoff = 5 * time.Minute

// Scheduler runs every watcher on its cron schedule, never two passes of one
// mailbox at once, and wakes a mailbox early when IDLE reports new mail.
type Scheduler struct {
	watchers []*Watcher
	log      *slog.Logger
}

// NewScheduler returns a scheduler for the watchers. logger must not be nil.
func NewScheduler(watchers []*Watcher, logger *slog.Logger) *Scheduler {
	return &Scheduler{watchers: watchers, log: logger}
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
// is done; it returns when the running passes have finished.
//
// Each mailbox has one worker goroutine that runs passes one after another.
// Cron ticks and IDLE notifications only knock on its door (a channel of one):
// a tick that arrives while a pass runs results in one more pass after it,
// never in two at once, and a pass that panics is logged and recovered in the
// worker so the mailbox keeps its schedule.
func (s *Scheduler) Run(ctx context.Context) error {
	c := cron.New(cron.WithLogger(cronLogger{s.log}))
	intervals := make([]time.Duration, len(s.watchers))
	for i, w := range s.watchers {
		spec, err := cron.ParseStandard(w.m.Schedule)
		if err != nil {
			return fmt.Errorf("scheduling mailbox %s: %w", w.m.Name, err)
		}
		intervals[i] = scheduleInterval(spec, time.Now())
	}
	var wg sync.WaitGroup
	for i, w := range s.watchers {
		interval := intervals[i]
		kick := make(chan struct{}, 1)
		knock := func() {
			select {
			case kick <- struct{}{}:
			default: // a pass is already due
			}
		}
		if _, err := c.AddFunc(w.m.Schedule, knock); err != nil {
			return fmt.Errorf("scheduling mailbox %s: %w", w.m.Name, err)
		}
		knock() // first pass at start
		wg.Go(func() { w.worker(ctx, kick, interval) })
		if w.m.Idle {
			wg.Go(func() { w.idle(ctx, knock) })
		}
	}
	c.Start()
	s.log.Info("scheduler started", "mailboxes", len(s.watchers))
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	return nil
}

// worker runs a pass per knock until ctx is done.
//
// A pass that failed in a way a retry may heal (PostgreSQL or the IMAP
// server unreachable) is run again without waiting for the next tick:
// after Options.Backoff, then twice as long each time, at most interval
// (the schedule's period), until a pass succeeds. A pass that cannot heal
// (NotRetriedError: certificate, login, configuration) or that panicked
// waits for the next tick.
func (w *Watcher) worker(ctx context.Context, kick <-chan struct{}, interval time.Duration) {
	var (
		retry   <-chan time.Time
		backoff time.Duration
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-retry:
		}
		retry = nil
		err := w.safePass(ctx)
		var notRetried *NotRetriedError
		if err == nil || ctx.Err() != nil || errors.As(err, &notRetried) || errors.Is(err, errPanicked) {
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

// safePass runs one pass, logs its outcome and turns a panic into an error
// wrapping errPanicked. It returns the pass's error.
func (w *Watcher) safePass(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", errPanicked, v)
			w.finish(Stats{}, err)
			w.log.Error("pass panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	st, err := w.Pass(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		w.log.Info("pass stopped by shutdown", "stats", st, "err", err)
	case err != nil:
		w.log.Error("pass failed", "stats", st, "err", err)
	case st.Messages > 0 || st.Skipped:
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
