package imapwatch

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

// replicaTestTakeover is the take-over bound of the replica tests: leases
// of 3 s renewed every second.
const replicaTestTakeover = 4 * time.Second

// logCount counts a replica's log records and passes those at Info and
// above (or all, with BOUNCED_TEST_DEBUG) on to the test's log.
type logCount struct {
	t     testing.TB
	name  string
	mu    *sync.Mutex
	lines *[]string // "LEVEL msg" of every record
	attrs []slog.Attr
}

func newLogCount(t testing.TB, name string) *logCount {
	return &logCount{t: t, name: name, mu: &sync.Mutex{}, lines: new([]string)}
}

func (h *logCount) Enabled(context.Context, slog.Level) bool { return true }

func (h *logCount) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.lines = append(*h.lines, r.Level.String()+" "+r.Message)
	h.mu.Unlock()
	if r.Level >= slog.LevelInfo || os.Getenv("BOUNCED_TEST_DEBUG") != "" {
		var b strings.Builder
		for _, a := range h.attrs {
			fmt.Fprintf(&b, " %s", a)
		}
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s", a)
			return true
		})
		h.t.Logf("%s %s %s %s%s", r.Time.Format("15:04:05.000"), h.name, r.Level, r.Message, b.String())
	}
	return nil
}

func (h *logCount) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logCount) WithGroup(string) slog.Handler { return h }

// count returns how many records at level (any level when "") contain s.
func (h *logCount) count(level, s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range *h.lines {
		if (level == "" || strings.HasPrefix(l, level+" ")) && strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// testReplica is one replica of bounced run inside the test process: its
// own store (pool of sessions named "bounced NAME") and scheduler.
type testReplica struct {
	name  string
	store *store.Store
	rec   Recorder
	lease Leaser
	sched *Scheduler
	log   *logCount
	stop  context.CancelFunc
	done  chan struct{}
}

// replicaOptions tunes startReplica.
type replicaOptions struct {
	maxConns    int32
	maxParallel int
	// wrap, when set, wraps the store as the replica's recorder and lease
	// table (the frozen-replica test).
	wrap func(*store.Store) interface {
		Recorder
		Leaser
	}
	afterCommit func()
}

func startReplica(t testing.TB, dbURL, name string, mailboxes []config.Mailbox, o replicaOptions) *testReplica {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, store.WithMaxConns(o.maxConns), store.WithApplicationName("bounced "+name))
	if err != nil {
		t.Fatal(err)
	}
	r := &testReplica{name: name, store: st, rec: st, lease: st, log: newLogCount(t, name), done: make(chan struct{})}
	if o.wrap != nil {
		w := o.wrap(st)
		r.rec, r.lease = w, w
	}
	logger := slog.New(r.log)
	watchers := make([]*Watcher, len(mailboxes))
	for i, m := range mailboxes {
		watchers[i] = New(m, r.rec, Options{Logger: logger, Leases: r.lease, Replica: name,
			TakeoverAfter: replicaTestTakeover, Backoff: 100 * time.Millisecond, AfterCommit: o.afterCommit})
	}
	r.sched = NewScheduler(watchers, logger, SchedulerOptions{Leases: r.lease, Replica: name,
		TakeoverAfter: replicaTestTakeover, MaxParallel: o.maxParallel})
	runCtx, cancel := context.WithCancel(ctx)
	r.stop = cancel
	go func() {
		defer close(r.done)
		r.sched.Run(runCtx)
	}()
	t.Cleanup(func() {
		r.shutdown()
		st.Close()
	})
	return r
}

// shutdown stops the replica and waits for it.
func (r *testReplica) shutdown() {
	r.stop()
	<-r.done
}

// duplicates sums the messages the replica's passes found already recorded.
func (r *testReplica) duplicates() uint64 {
	var n uint64
	for _, s := range r.sched.Statuses() {
		n += s.Totals.Duplicates
	}
	return n
}

// fillMailboxes creates n folders of per generated bounces each (distinct
// across folders) and returns their mailboxes; the folders are deleted when
// the test ends.
func fillMailboxes(t testing.TB, d dovecot, prefix string, n, per int) []config.Mailbox {
	t.Helper()
	c := d.client(t, "")
	base := uniqueFolder(prefix)
	mailboxes := make([]config.Mailbox, n)
	for i := range n {
		folder := fmt.Sprintf("%s-%03d", base, i)
		if err := c.Create(folder, nil).Wait(); err != nil {
			t.Fatalf("creating %s: %v", folder, err)
		}
		appendGenerated(t, c, folder, i*per, per)
		m := d.mailbox(t, folder)
		m.Schedule = "@every 1h" // passes come from the lease take and the retries only
		mailboxes[i] = m
	}
	t.Cleanup(func() {
		cc := d.client(t, "")
		for _, m := range mailboxes {
			for _, f := range []string{m.Folder, m.ProcessedFolder, m.UnrecognizedFolder} {
				cc.Delete(f).Wait() // absent folders are fine
			}
		}
	})
	return mailboxes
}

// appendGenerated appends generatedDSN(from) … generatedDSN(from+n-1),
// keeping up to 200 APPENDs in flight.
func appendGenerated(t testing.TB, c *imapclient.Client, folder string, from, n int) {
	t.Helper()
	var pending []*imapclient.AppendCommand
	flush := func() {
		for _, cmd := range pending {
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("appending: %v", err)
			}
		}
		pending = pending[:0]
	}
	for i := from; i < from+n; i++ {
		msg := generatedDSN(i)
		cmd := c.Append(folder, int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			t.Fatalf("appending: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("appending: %v", err)
		}
		if pending = append(pending, cmd); len(pending) == 200 {
			flush()
		}
	}
	flush()
}

// migratedDB returns the URL of a fresh migrated database and a store on it
// for the test's own queries.
func migratedDB(t testing.TB) (string, *store.Store) {
	t.Helper()
	dbURL := storetest.NewDatabase(t)
	st, err := store.Open(context.Background(), dbURL, store.WithMaxConns(2), store.WithApplicationName("bounced test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dbURL, st
}

// recordedBy returns the ledger's count of messages by replica.
func recordedBy(t testing.TB, st *store.Store) map[string]int {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT replica, count(*) FROM processed_messages GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		out[r] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitRecorded waits until the ledger holds want messages, and returns how
// long that took.
func waitRecorded(t testing.TB, st *store.Store, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		total := 0
		for _, n := range recordedBy(t, st) {
			total += n
		}
		if total >= want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %s the ledger holds %d of %d messages", limit, total, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sessionsOf returns the sessions of the database named "bounced NAME".
func sessionsOf(t testing.TB, st *store.Store, name string) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
		"bounced "+name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// sampleSessions samples sessionsOf for every replica until stop is closed
// and returns the most seen of each.
func sampleSessions(t testing.TB, st *store.Store, names []string, stop <-chan struct{}) <-chan map[string]int {
	out := make(chan map[string]int, 1)
	go func() {
		peak := map[string]int{}
		for {
			for _, n := range names {
				peak[n] = max(peak[n], sessionsOf(t, st, n))
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

// TestReplicasShareABacklog: three replicas in one process and 30 mailboxes
// with a backlog each. Every replica works about a third (each at least
// 20 %), every message is recorded once (no pass meets a duplicate), and no
// replica uses more PostgreSQL sessions than its pool allows; IDLE runs only
// on the mailboxes a replica holds. The second
// run does the same with idle_session_timeout = 1s on the database, which
// closes every session idle for a second: leases live in rows, so it
// changes nothing.
func TestReplicasShareABacklog(t *testing.T) {
	for _, idleTimeout := range []bool{false, true} {
		t.Run(fmt.Sprintf("idle_session_timeout=%v", idleTimeout), func(t *testing.T) {
			d := requireDovecot(t)
			dbURL, st := migratedDB(t)
			if idleTimeout {
				setIdleSessionTimeout(t, st, dbURL)
			}
			const mailboxes, per, maxConns = 30, 20, 3
			boxes := fillMailboxes(t, d, "replicas", mailboxes, per)
			for i := range boxes {
				boxes[i].Idle = !idleTimeout // IDLE only where held
			}
			names := []string{"r1", "r2", "r3"}
			stop := make(chan struct{})
			peaks := sampleSessions(t, st, names, stop)
			var reps []*testReplica
			for _, n := range names {
				reps = append(reps, startReplica(t, dbURL, n, boxes, replicaOptions{maxConns: maxConns, maxParallel: 4}))
			}
			took := waitRecorded(t, st, mailboxes*per, 2*time.Minute)
			close(stop)
			peak := <-peaks
			t.Logf("%d messages in %d mailboxes drained in %s by %v; peak sessions %v", mailboxes*per, mailboxes, took, recordedBy(t, st), peak)

			by := recordedBy(t, st)
			for _, r := range reps {
				if share := float64(by[r.name]) / float64(mailboxes*per); share < 0.2 {
					t.Errorf("replica %s recorded %d of %d messages (%.0f %%), want at least 20 %%", r.name, by[r.name], mailboxes*per, 100*share)
				}
				if n := r.duplicates(); n != 0 {
					t.Errorf("replica %s met %d messages already recorded: work was done twice", r.name, n)
				}
				if peak[r.name] > maxConns {
					t.Errorf("replica %s used %d PostgreSQL sessions, its pool allows %d", r.name, peak[r.name], maxConns)
				}
				if peak[r.name] == 0 {
					t.Errorf("no session of replica %s was ever seen: the count is not measuring", r.name)
				}
				if n := r.log.count("WARN", "lease"); n != 0 {
					t.Errorf("replica %s logged %d lease warnings in a healthy run", r.name, n)
				}
				if n := r.log.count("INFO", "skip"); n != 0 {
					t.Errorf("replica %s logged %d skips at INFO", r.name, n)
				}
			}
			if !idleTimeout {
				held := 0
				for _, r := range reps {
					held += r.sched.LeaseStats().Held
					waitUntil(t, 20*time.Second, "IDLE on exactly the mailboxes "+r.name+" holds", func() bool {
						return r.log.count("DEBUG", "IDLE started") == r.sched.LeaseStats().Held
					})
				}
				if held != mailboxes {
					t.Errorf("the replicas hold %d leases together, want one per mailbox (%d)", held, mailboxes)
				}
			}
			// The last moves follow the last commits.
			c := d.client(t, "")
			for _, m := range boxes {
				waitUntil(t, 30*time.Second, m.Folder+" to be emptied", func() bool {
					return stateOf(t, c, m.Folder).Messages == 0
				})
			}
		})
	}
}

// setIdleSessionTimeout sets idle_session_timeout = 1s on the test's
// database, for the sessions opened from now on.
func setIdleSessionTimeout(t testing.TB, st *store.Store, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if _, err := st.Pool().Exec(context.Background(), `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET idle_session_timeout = '1s'`); err != nil {
		t.Fatal(err)
	}
	st.Pool().Reset()
}

// freezable is a replica's store that can be frozen, as by kill -STOP: while
// frozen, its heartbeat, lease calls and batch writes wait. A write that
// waited goes out when thawed, late.
type freezable struct {
	*store.Store
	mu     sync.Mutex
	frozen chan struct{} // non-nil while frozen; closed to thaw
}

func (f *freezable) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen == nil {
		f.frozen = make(chan struct{})
	}
}

func (f *freezable) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
}

func (f *freezable) wait() {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *freezable) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	f.wait()
	return f.Store.WriteBatch(ctx, b)
}

func (f *freezable) Register(ctx context.Context, replica string, mailboxes []string, ttl time.Duration) ([]store.Replica, error) {
	f.wait()
	return f.Store.Register(ctx, replica, mailboxes, ttl)
}

func (f *freezable) RenewLeases(ctx context.Context, replica string, held []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	f.wait()
	return f.Store.RenewLeases(ctx, replica, held, ttl)
}

func (f *freezable) AcquireLeases(ctx context.Context, replica string, want []string, ttl time.Duration) ([]store.Lease, error) {
	f.wait()
	return f.Store.AcquireLeases(ctx, replica, want, ttl)
}

// TestFrozenReplicaIsTakenOverAndFenced: a replica freezes in the middle of
// a backlog, with a batch on its way to the database. Another replica takes
// its mailbox over within the take-over time and finishes it; when the
// frozen one wakes, its late batch is refused by the fencing check and it
// says, at WARN, that it lost the lease. Every message is recorded once.
func TestFrozenReplicaIsTakenOverAndFenced(t *testing.T) {
	d := requireDovecot(t)
	dbURL, st := migratedDB(t)
	const per = 60
	boxes := fillMailboxes(t, d, "frozen", 1, per)
	boxes[0].BatchSize = 5

	var fz *freezable
	var commits atomic.Int32
	frozeAt := make(chan time.Time, 1)
	a := startReplica(t, dbURL, "a", boxes, replicaOptions{maxConns: 3,
		wrap: func(s *store.Store) interface {
			Recorder
			Leaser
		} {
			fz = &freezable{Store: s}
			return fz
		},
		afterCommit: func() {
			if commits.Add(1) == 2 { // two batches in: freeze with the third on its way
				fz.freeze()
				frozeAt <- time.Now()
			}
		}})
	defer fz.thaw()
	froze := <-frozeAt

	b := startReplica(t, dbURL, "b", boxes, replicaOptions{maxConns: 3})
	deadline := time.Now().Add(3 * replicaTestTakeover)
	for b.sched.LeaseStats().TakeOvers == 0 && b.sched.LeaseStats().Held == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the frozen replica's mailbox was not taken over within %s", 3*replicaTestTakeover)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(froze)
	t.Logf("taken over %s after the freeze", took)
	if took > replicaTestTakeover+time.Second {
		t.Errorf("taken over %s after the freeze, want within the take-over time %s", took, replicaTestTakeover)
	}
	waitRecorded(t, st, per, time.Minute)

	fz.thaw() // the late batch goes out now
	waitUntil(t, 3*replicaTestTakeover, "the woken replica to notice it lost the lease", func() bool {
		return a.log.count("WARN", "lease") > 0
	})
	a.shutdown()
	b.shutdown()

	by := recordedBy(t, st)
	if by["a"] != 10 || by["a"]+by["b"] != per {
		t.Errorf("recorded by replica %v, want a: 10 (its two batches before the freeze) and b: the rest of %d", by, per)
	}
	if ls := a.sched.LeaseStats(); ls.Losses == 0 {
		t.Errorf("the frozen replica's lease stats %+v count no loss", ls)
	}
	if ls := b.sched.LeaseStats(); ls.TakeOvers != 1 {
		t.Errorf("the healthy replica's lease stats %+v, want one take-over", ls)
	}
	if n := b.duplicates(); n != 0 {
		t.Errorf("the healthy replica met %d messages already recorded", n)
	}
	var gen int64
	if err := st.Pool().QueryRow(context.Background(), `SELECT generation FROM mailbox_leases WHERE mailbox = $1`, boxes[0].Name).Scan(&gen); err != nil || gen < 2 {
		t.Errorf("lease generation = %d, %v; want at least 2 after a take-over", gen, err)
	}
}

// TestHundredMailboxesBoundedSessions: one replica with 100 mailboxes and a
// pool of 3 never has more than 3 PostgreSQL sessions, and with leases in
// rows it needs no session per mailbox.
func TestHundredMailboxesBoundedSessions(t *testing.T) {
	d := requireDovecot(t)
	dbURL, st := migratedDB(t)
	const mailboxes, per, maxConns = 100, 2, 3
	boxes := fillMailboxes(t, d, "hundred", mailboxes, per)
	stop := make(chan struct{})
	peaks := sampleSessions(t, st, []string{"solo"}, stop)
	r := startReplica(t, dbURL, "solo", boxes, replicaOptions{maxConns: maxConns, maxParallel: 8})
	waitRecorded(t, st, mailboxes*per, 2*time.Minute)
	close(stop)
	peak := <-peaks
	if peak["solo"] > maxConns || peak["solo"] == 0 {
		t.Errorf("peak sessions of the replica = %d, want 1 to %d", peak["solo"], maxConns)
	}
	if ls := r.sched.LeaseStats(); ls.Held != mailboxes {
		t.Errorf("lease stats %+v, want all %d mailboxes held", ls, mailboxes)
	}
}

// TestReplicaBench measures the drain of a backlog with 1 and 3 replicas,
// the sessions each uses and the log lines a minute once the mailboxes are
// empty. It runs only when BOUNCED_BENCH_REPLICAS is set:
//
//	BOUNCED_BENCH_REPLICAS=1,3 BOUNCED_BENCH_MAILBOXES=30 BOUNCED_BENCH_PER=300 \
//	  BOUNCED_BENCH_IDLE=60s go test ./imapwatch -run TestReplicaBench -v -count=1 -timeout 30m
func TestReplicaBench(t *testing.T) {
	spec := os.Getenv("BOUNCED_BENCH_REPLICAS")
	if spec == "" {
		t.Skip("BOUNCED_BENCH_REPLICAS unset")
	}
	envInt := func(name string, def int) int {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q is not a positive number", name, v)
			}
			return n
		}
		return def
	}
	mailboxes, per := envInt("BOUNCED_BENCH_MAILBOXES", 30), envInt("BOUNCED_BENCH_PER", 300)
	idle := time.Minute
	if v := os.Getenv("BOUNCED_BENCH_IDLE"); v != "" {
		var err error
		if idle, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	d := requireDovecot(t)
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("BOUNCED_BENCH_REPLICAS=%q: want numbers such as 1,3", spec)
		}
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) {
			dbURL, st := migratedDB(t)
			boxes := fillMailboxes(t, d, "bench", mailboxes, per)
			for i := range boxes {
				boxes[i].Schedule = "@every 10s" // ticks to count once empty
			}
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("bench%d", i+1))
			}
			stop := make(chan struct{})
			peaks := sampleSessions(t, st, names, stop)
			var reps []*testReplica
			for _, name := range names {
				reps = append(reps, startReplica(t, dbURL, name, boxes, replicaOptions{maxConns: config.DefaultDBMaxConns, maxParallel: config.DefaultMaxParallel}))
			}
			took := waitRecorded(t, st, mailboxes*per, 20*time.Minute)
			time.Sleep(5 * time.Second) // the last passes end
			counts := func() (info, skips int) {
				for _, r := range reps {
					info += r.log.count("INFO", "") + r.log.count("WARN", "") + r.log.count("ERROR", "")
					skips += r.log.count("INFO", "skip") + r.log.count("DEBUG", "skip")
				}
				return info, skips
			}
			info0, skips0 := counts()
			time.Sleep(idle)
			close(stop)
			peak := <-peaks
			info1, skips1 := counts()
			perMin := func(n int) int { return int(float64(n) / idle.Minutes()) }
			t.Logf("BENCH replicas=%d mailboxes=%d per=%d: drained %d messages in %s (%.0f msg/s); by replica %v; peak sessions %v (db_max_conns %d); "+
				"once empty (%s, schedule @every 10s): %d log lines/min at INFO and above, %d skip lines/min (DEBUG)",
				n, mailboxes, per, mailboxes*per, took.Round(10*time.Millisecond), float64(mailboxes*per)/took.Seconds(),
				recordedBy(t, st), peak, config.DefaultDBMaxConns, idle, perMin(info1-info0), perMin(skips1-skips0))
		})
	}
}

// TestLateReplicaGetsItsShare: a replica that starts after another took
// every mailbox gets its share within a few heartbeats: the first hands
// over the mailboxes that are now the second's, and says so.
func TestLateReplicaGetsItsShare(t *testing.T) {
	d := requireDovecot(t)
	dbURL, _ := migratedDB(t)
	const mailboxes = 6
	boxes := fillMailboxes(t, d, "late", mailboxes, 1)
	first := startReplica(t, dbURL, "first", boxes, replicaOptions{maxConns: 3})
	waitUntil(t, 5*replicaTestTakeover, "the first replica to hold every mailbox", func() bool {
		return first.sched.LeaseStats().Held == mailboxes
	})
	second := startReplica(t, dbURL, "second", boxes, replicaOptions{maxConns: 3})
	waitUntil(t, 5*replicaTestTakeover, "the mailboxes to be shared half and half", func() bool {
		return first.sched.LeaseStats().Held == mailboxes/2 && second.sched.LeaseStats().Held == mailboxes/2
	})
	if first.log.count("INFO", "handed") == 0 { // "handed mailboxes over", or a pass stopped for it
		t.Error("the first replica did not say it handed mailboxes over")
	}
	for _, r := range []*testReplica{first, second} {
		if ls := r.sched.LeaseStats(); ls.Losses != 0 || ls.TakeOvers != 0 {
			t.Errorf("replica %s: %+v, want no loss and no take-over in a hand-over", r.name, ls)
		}
	}
}

// failingLeases is a lease table that cannot be reached after fail is set.
type failingLeases struct {
	*memLeases
	fail atomic.Bool
}

func (f *failingLeases) Register(ctx context.Context, replica string, mailboxes []string, ttl time.Duration) ([]store.Replica, error) {
	if f.fail.Load() {
		return nil, fmt.Errorf("connecting: connection refused")
	}
	return f.memLeases.Register(ctx, replica, mailboxes, ttl)
}

// TestLeasesKeepFailing: a replica that cannot reach the lease table says
// so at WARN after a few heartbeats, and gives its leases up (its batches
// would be refused) once they have run out.
func TestLeasesKeepFailing(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	fill(t, ms.client(t), "INBOX", 0, 1)
	leases := &failingLeases{memLeases: newMemLeases()}
	logs := newLogCount(t, "me")
	opts := testOptions(t)
	opts.Logger = slog.New(logs)
	w := New(ms.mailbox(t, "INBOX"), newMemRecorder(), opts)
	s := NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{Leases: leases, Replica: "me", TakeoverAfter: 400 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, 5*time.Second, "the lease to be taken", func() bool { return s.LeaseStats().Held == 1 })
	leases.fail.Store(true)
	waitUntil(t, 5*time.Second, "a warning that the leases keep failing", func() bool {
		return logs.count("WARN", "the leases keep failing") > 0
	})
	waitUntil(t, 5*time.Second, "the lease to be given up", func() bool { return s.LeaseStats().Held == 0 })
	if ls := s.LeaseStats(); ls.Losses != 1 {
		t.Errorf("lease stats %+v, want the lease counted as lost", ls)
	}
}
