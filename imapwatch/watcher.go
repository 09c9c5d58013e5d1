package imapwatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// ParseFunc parses one raw message; dsn.Parse is the one used in production.
type ParseFunc func(r io.Reader, opts dsn.Options) (*dsn.Report, error)

// Options tunes a Watcher. The zero value is usable except for Logger.
type Options struct {
	// Logger receives the watcher's logs; nil discards them.
	Logger *slog.Logger
	// Parse is the parser; nil means dsn.Parse.
	Parse ParseFunc
	// FetchOnly fetches and hashes every message above UID 0 and does
	// nothing else: no parsing, no recorder, no disposition. It measures
	// the IMAP side alone.
	FetchOnly bool
	// Attempts is how often a pass is tried when the connection fails;
	// 0 means 3.
	Attempts int
	// Backoff is the wait before the first retry, doubled after each;
	// 0 means one second.
	Backoff time.Duration
	// ShutdownGrace bounds how long a running batch may continue after the
	// pass's context is cancelled; 0 means config.DefaultShutdownTimeout.
	ShutdownGrace time.Duration
	// Leases, when set, is the lease table (*store.Store) that decides which
	// replica works the mailbox: Pass takes the mailbox's lease first and
	// every batch is fenced by it. nil works the mailbox without leases,
	// for a single process (tests, the demo).
	Leases Leaser
	// Replica names this process in the lease table and in the ledger.
	Replica string
	// TakeoverAfter sets the lease times (see leaseTimes); 0 means
	// DefaultTakeoverAfter.
	TakeoverAfter time.Duration
	// AfterCommit, when set, is called on the fetching goroutine after each
	// batch's WriteBatch returned nil and before the batch is handed to the
	// disposition. It is a seam for fault-injection tests (the crash between
	// commit and move, see cmd/bounced's faultinject build) and must return
	// quickly; production leaves it nil.
	AfterCommit func()
	// Observer, when set, is told how long each pass and each batch's
	// commit took, and what the batch suppressed (for metrics).
	Observer Observer
}

// Observer learns how passes and batches went, for metrics. Its methods
// are called on the watcher's goroutines and must return quickly.
// *metrics.Metrics (cmd/bounced/internal/metrics) implements it.
type Observer interface {
	// ObservePass is called after every pass over mailbox: its duration,
	// whether it was skipped (another replica held the lease) and its error.
	ObservePass(mailbox string, d time.Duration, skipped bool, err error)
	// ObserveBatch is called after a batch of mailbox was committed: how
	// long the recorder took, and what it recorded.
	ObserveBatch(mailbox string, d time.Duration, res store.BatchResult)
}

// Stats counts what a pass did.
type Stats struct {
	Messages     int   // messages recorded (fetched, with FetchOnly)
	Bytes        int64 // their size
	Batches      int   // batches committed
	Processed    int   // recognised and recorded
	Unrecognized int   // kept in the unrecognized folder
	Failed       int   // could not be parsed, kept in the unrecognized folder
	Duplicates   int   // already in the ledger
	Held         int   // new suppressions held by the brake
	Skipped      bool  // another replica holds the mailbox's lease
	Rescanned    bool  // UIDVALIDITY changed, the mailbox was read from UID 1
	Duration     time.Duration
	// Backlog is what the pass found waiting: InFolder is the number of
	// messages in the watched folder when the pass selected it, Waiting
	// those of them the pass set out to read (not recorded yet: above the
	// checkpoint, or without the $Bounced keyword; all of them with
	// FetchOnly or after a UIDVALIDITY change), Left those of Waiting it did not
	// record (a pass stopped or failed midway, or one that ran into its
	// deadline). Counted is when the folder was selected; zero when the
	// pass never got that far (skipped, or connecting failed), and then the
	// other three mean nothing.
	Backlog Backlog
}

// Backlog is a mailbox's backlog as one pass measured it. Left is the
// backlog proper, the messages still waiting for a later pass; it is
// worked out from the pass's own count (Waiting minus the messages it
// recorded), not by searching the folder again, so that measuring costs no
// extra IMAP command. A message that arrives during the pass is counted by
// the next one.
type Backlog struct {
	InFolder int       `json:"in_folder"`
	Waiting  int       `json:"waiting"`
	Left     int       `json:"left"`
	Counted  time.Time `json:"counted,omitzero"`
}

// LogValue lets Stats be logged as a group.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("messages", s.Messages), slog.Int64("bytes", s.Bytes),
		slog.Int("batches", s.Batches), slog.Int("processed", s.Processed),
		slog.Int("unrecognized", s.Unrecognized), slog.Int("failed", s.Failed),
		slog.Int("duplicates", s.Duplicates), slog.Int("held", s.Held), slog.Bool("skipped", s.Skipped),
		slog.Bool("rescanned", s.Rescanned), slog.Duration("duration", s.Duration),
		slog.Int("backlog", s.Backlog.Left),
	)
}

// Status is the state of a mailbox for health reports.
type Status struct {
	Mailbox     string    `json:"mailbox"`
	Running     bool      `json:"running"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Backlog is the mailbox's backlog as its latest pass that selected
	// the folder measured it (zero Counted: none did yet). /readyz shows it
	// only with the API token (verbose), like the other details.
	Backlog Backlog `json:"backlog,omitzero"`
	// Totals counts the mailbox's passes and messages since the process
	// started, for metrics; health reports leave them out.
	Totals Totals `json:"-"`
}

// Totals counts what a mailbox's passes did since the process started.
type Totals struct {
	Passes        uint64 // passes finished, failed and skipped ones included
	FailedPasses  uint64 // passes that ended with an error
	SkippedPasses uint64 // passes skipped because another replica held the lease
	Processed     uint64 // messages recognised and recorded
	Unrecognized  uint64 // messages kept in the unrecognized folder
	Failed        uint64 // messages that could not be parsed
	Duplicates    uint64 // messages already in the ledger
	Held          uint64 // new suppressions held by the brake
}

// add counts one finished pass.
func (t *Totals) add(st Stats, err error) {
	t.Passes++
	if err != nil {
		t.FailedPasses++
	}
	if st.Skipped {
		t.SkippedPasses++
	}
	t.Processed += uint64(st.Processed)
	t.Unrecognized += uint64(st.Unrecognized)
	t.Failed += uint64(st.Failed)
	t.Duplicates += uint64(st.Duplicates)
	t.Held += uint64(st.Held)
}

// Watcher works one mailbox. Its Pass may be called from one goroutine at a
// time; the Scheduler makes sure of that.
type Watcher struct {
	m      config.Mailbox
	rec    Recorder
	opts   Options
	log    *slog.Logger
	tokens *config.TokenSource

	// parsers bounds the messages parsed at once (parse-ahead, fetch.go).
	parsers chan struct{}
	// lease is the lease the running pass works under; its batches carry
	// it. Set by the pass before any batch is made.
	lease store.Lease

	mu     sync.Mutex
	status Status
}

// New returns a Watcher for m that records through rec (rec may be nil only
// with FetchOnly).
func New(m config.Mailbox, rec Recorder, opts Options) *Watcher {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parse == nil {
		opts.Parse = dsn.Parse
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = config.DefaultShutdownTimeout
	}
	if m.BatchSize <= 0 {
		m.BatchSize = config.DefaultBatchSize
	}
	if m.MaxSize <= 0 {
		m.MaxSize = config.DefaultMaxSize
	}
	if m.Timeout <= 0 {
		m.Timeout = config.DefaultTimeout
	}
	return &Watcher{
		m:      m,
		rec:    rec,
		opts:   opts,
		log:    opts.Logger.With("mailbox", m.Name),
		tokens: m.Token.TokenCache(),
		status: Status{Mailbox: m.Name},

		parsers: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
}

// Name returns the mailbox's configured name.
func (w *Watcher) Name() string { return w.m.Name }

// Status returns the mailbox's current state.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Pass works the mailbox once: with Options.Leases it takes the mailbox's
// lease (returning Stats.Skipped when another replica holds it), renews it
// during the pass and releases it after; then it fetches, records and
// disposes of every message above the checkpoint, batch by batch, each batch
// fenced by the lease. A failed connection is retried with backoff; a failed
// WriteBatch is not (nothing was moved, the next pass retries it).
//
// When ctx is cancelled, or the lease is lost, the batch in hand is finished
// (within ShutdownGrace; a batch of a lost lease is refused by the database)
// and no new one started.
func (w *Watcher) Pass(ctx context.Context) (Stats, error) {
	start := time.Now()
	w.setRunning(true)
	st, err := w.leasedPass(ctx)
	st.Duration = time.Since(start)
	w.finish(st, err)
	if w.opts.Observer != nil {
		w.opts.Observer.ObservePass(w.m.Name, st.Duration, st.Skipped, err)
	}
	return st, err
}

// passUnder is Pass under a lease the Scheduler holds and renews. A pass
// that stopped because the lease was lost or handed over ends without an
// error in the mailbox's status: the mailbox is another replica's now.
func (w *Watcher) passUnder(ctx context.Context, l store.Lease) (Stats, error) {
	start := time.Now()
	w.setRunning(true)
	st, err := w.pass(ctx, l)
	st.Duration = time.Since(start)
	if w.opts.Observer != nil {
		w.opts.Observer.ObservePass(w.m.Name, st.Duration, st.Skipped, err)
	}
	if err != nil && (errors.Is(err, store.ErrLeaseLost) || errors.Is(context.Cause(ctx), errLeaseLost) ||
		errors.Is(context.Cause(ctx), errHandedOver) || errors.Is(context.Cause(ctx), errLeasesStale)) {
		w.finish(st, nil)
		return st, err
	}
	w.finish(st, err)
	return st, err
}

// leasedPass takes the mailbox's lease for one pass, when leases are used.
func (w *Watcher) leasedPass(ctx context.Context) (Stats, error) {
	l := store.Lease{Mailbox: w.m.Name, Replica: w.opts.Replica}
	if w.opts.Leases == nil || w.opts.FetchOnly {
		return w.pass(ctx, l)
	}
	ttl, beat := leaseTimes(w.opts.TakeoverAfter)
	got, err := w.opts.Leases.AcquireLeases(ctx, w.opts.Replica, []string{w.m.Name}, ttl)
	if err != nil {
		return Stats{}, fmt.Errorf("taking the lease of mailbox %s: %w", w.m.Name, err)
	}
	if len(got) == 0 {
		w.log.Debug("another replica holds the mailbox's lease, skipping")
		return Stats{Skipped: true}, nil
	}
	l = got[0]
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-lctx.Done():
				return
			case <-time.After(beat):
			}
			kept, err := w.opts.Leases.RenewLeases(lctx, l.Replica, []store.Lease{l}, ttl)
			switch {
			case err != nil && lctx.Err() == nil:
				w.log.Info("cannot renew the mailbox's lease; retrying", "err", err)
			case err == nil && len(kept) == 0:
				w.log.Warn("lease lost: another replica took the mailbox over, or the lease expired; the pass stops", "generation", l.Generation)
				cancel(errLeaseLost)
				return
			}
		}
	})
	st, err := w.pass(lctx, l)
	cancel(nil)
	wg.Wait()
	if rerr := w.opts.Leases.ReleaseLeases(context.WithoutCancel(ctx), []store.Lease{l}); rerr != nil {
		w.log.Info("cannot release the mailbox's lease; it expires on its own", "err", rerr)
	}
	return st, err
}

// pass works the mailbox under lease l (Generation 0: no lease).
func (w *Watcher) pass(ctx context.Context, l store.Lease) (Stats, error) {
	var st Stats
	w.lease = l
	// work outlives ctx by the shutdown grace, so that the batch in hand
	// can finish; the batch loop checks ctx before starting another.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.opts.ShutdownGrace, cancel) })
	defer stop()

	backoff := w.opts.Backoff
	for attempt := 1; ; attempt++ {
		err := w.attempt(ctx, work, &st)
		if err == nil {
			return st, nil
		}
		if why, ok := cannotHeal(err); ok {
			return st, &NotRetriedError{Err: err, Why: why}
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= w.opts.Attempts {
			return st, err
		}
		w.log.Warn("pass failed, retrying", "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return st, err
		}
		backoff *= 2
	}
}

// errRecorder marks a failure of the recorder, which a retry within the same
// pass would not cure.
type errRecorder struct{ err error }

func (e errRecorder) Error() string { return e.err.Error() }
func (e errRecorder) Unwrap() error { return e.err }

// retryable reports whether a fresh connection may cure err.
func retryable(err error) bool {
	var rec errRecorder
	_, permanent := cannotHeal(err)
	return !errors.As(err, &rec) && !permanent && !errors.Is(err, errStopped)
}

// NotRetriedError is the error of a pass that failed in a way retrying
// cannot heal: the server refused the login, its certificate failed
// verification, or the configuration is wrong. The pass is not retried, and
// the scheduler does not retry it before the next scheduled tick; Why says
// which of these it was.
type NotRetriedError struct {
	Err error
	Why string
}

func (e *NotRetriedError) Error() string {
	return e.Err.Error() + " (not retried: " + e.Why + ")"
}

func (e *NotRetriedError) Unwrap() error { return e.Err }

// cannotHeal reports whether err is one that no retry of the pass cures,
// and why.
func cannotHeal(err error) (why string, ok bool) {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid):
		return "the server's certificate failed verification; fix the certificate, ca_file or server_name", true
	case errors.Is(err, ErrAuth):
		return "the server refused the login; fix the credentials", true
	case errors.Is(err, ErrConfig):
		return "the configuration is wrong; fix it and reload", true
	}
	return "", false
}

// errStopped reports a pass that stopped between batches on shutdown.
var errStopped = errors.New("imapwatch: stopped")

func (w *Watcher) setRunning(r bool) {
	w.mu.Lock()
	w.status.Running = r
	w.mu.Unlock()
}

// clearError forgets the mailbox's last error: the mailbox's lease went to
// another replica, which reports on it now.
func (w *Watcher) clearError() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.LastError, w.status.LastErrorAt = "", time.Time{}
}

func (w *Watcher) finish(st Stats, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Running = false
	w.status.Totals.add(st, err)
	if !st.Backlog.Counted.IsZero() {
		w.status.Backlog = st.Backlog
	}
	if err != nil {
		w.status.LastError, w.status.LastErrorAt = err.Error(), time.Now()
		return
	}
	w.status.LastSuccess, w.status.LastError = time.Now(), ""
}
