package imapwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

const (
	memUser     = "bounces"
	memPassword = "s3cret-pw"
)

// memServer is go-imap's in-process server on a loopback port.
type memServer struct {
	addr string
	user *imapmemserver.User
	// dropAfter, when positive, makes the next accepted connection close
	// after that many bytes were sent to the client.
	dropAfter atomic.Int64
	accepted  atomic.Int64
}

func startMemServer(t *testing.T, caps imap.CapSet) *memServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(memUser, memPassword)
	for _, f := range []string{"INBOX", "Bounces"} {
		if err := user.Create(f, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms := &memServer{addr: ln.Addr().String(), user: user}
	go srv.Serve(&dropListener{Listener: ln, ms: ms})
	t.Cleanup(func() { srv.Close() })
	return ms
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// dropListener wraps accepted connections so a test can cut one mid-stream.
type dropListener struct {
	net.Listener
	ms *memServer
}

func (l *dropListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.ms.accepted.Add(1)
	if n := l.ms.dropAfter.Swap(0); n > 0 {
		return &dropConn{Conn: c, left: n}, nil
	}
	return c, nil
}

type dropConn struct {
	net.Conn
	left int64
}

func (c *dropConn) Write(p []byte) (int, error) {
	if int64(len(p)) >= c.left {
		n, _ := c.Conn.Write(p[:c.left])
		c.Conn.Close()
		return n, net.ErrClosed
	}
	c.left -= int64(len(p))
	return c.Conn.Write(p)
}

func (ms *memServer) mailbox(t *testing.T, folder string) config.Mailbox {
	return config.Mailbox{
		Name: "test", Address: ms.addr, TLS: config.TLSNone,
		Username: memUser, Auth: config.AuthLogin, Password: passwordFile(t, memPassword),
		Folder: folder, Schedule: "@every 1h", BatchSize: 3, MaxSize: 64 << 10,
		Disposition: config.DispositionMove, ProcessedFolder: "Processed", UnrecognizedFolder: "Unrecognized",
		Timeout: 5 * time.Second,
	}
}

// client logs a test client in, to APPEND and inspect folders.
func (ms *memServer) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(ms.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(memUser, memPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testOptions(t *testing.T) Options {
	return Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Parse: testParse, Backoff: 10 * time.Millisecond}
}

type testWriter struct{ t *testing.T }

// idleWatch is a logger for t that also reports when IDLE has started.
func idleWatch(t *testing.T) (*slog.Logger, <-chan struct{}) {
	started := make(chan struct{})
	var once sync.Once
	w := writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), "IDLE started") {
			once.Do(func() { close(started) })
		}
		return testWriter{t}.Write(p)
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), started
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// waitIdle waits until IDLE has started and w's first pass (at start) is
// over, so that only IDLE can notice what is delivered next.
func waitIdle(t *testing.T, w *Watcher, started <-chan struct{}) {
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("IDLE did not start within 10s")
	}
	deadline := time.Now().Add(10 * time.Second)
	for st := w.Status(); st.LastSuccess.IsZero() || st.Running; st = w.Status() {
		if time.Now().After(deadline) {
			t.Fatal("the first pass did not finish within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fill appends bounces and non-bounces alternately: n messages, the even
// ones bounces.
func fill(t *testing.T, c *imapclient.Client, folder string, from, n int) (bounces int) {
	for i := from; i < from+n; i++ {
		appendMessages(t, c, folder, bounceMessage(i, i%2 == 0, 0))
		if i%2 == 0 {
			bounces++
		}
	}
	return bounces
}

func TestPassDisposition(t *testing.T) {
	cases := []struct {
		name string
		caps imap.CapSet
		// what INBOX holds after the pass: the fallback without MOVE and
		// UIDPLUS copies and flags instead of expunging.
		inboxLeft bool
	}{
		{"move", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}, false},
		{"copy-expunge", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}, false},
		{"copy-flag", imap.CapSet{imap.CapIMAP4rev1: {}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := startMemServer(t, tc.caps)
			c := ms.client(t)
			bounces := fill(t, c, "INBOX", 0, 8)
			rec := newMemRecorder()
			w := New(ms.mailbox(t, "INBOX"), rec, testOptions(t))

			st := mustPass(t, w)
			if st.Messages != 8 || st.Processed != bounces || st.Unrecognized != 8-bounces || st.Batches != 3 {
				t.Errorf("stats = %+v, want 8 messages, %d processed, 3 batches", st, bounces)
			}
			if got := rec.outcomes(); got[store.OutcomeProcessed] != bounces || got[store.OutcomeUnrecognized] != 8-bounces {
				t.Errorf("recorded outcomes = %v", got)
			}
			if got := stateOf(t, c, "Processed"); got.Messages != bounces {
				t.Errorf("Processed holds %d, want %d", got.Messages, bounces)
			}
			if got := stateOf(t, c, "Unrecognized"); got.Messages != 8-bounces {
				t.Errorf("Unrecognized holds %d, want %d", got.Messages, 8-bounces)
			}
			inbox := stateOf(t, c, "INBOX")
			if tc.inboxLeft && (inbox.Messages != 8 || inbox.Bounced != 8) {
				t.Errorf("INBOX = %+v, want all 8 kept and flagged $Bounced", inbox)
			}
			if !tc.inboxLeft && inbox.Messages != 0 {
				t.Errorf("INBOX = %+v, want empty", inbox)
			}

			// A second pass finds nothing new.
			if st := mustPass(t, w); st.Messages != 0 {
				t.Errorf("second pass fetched %d messages, want 0", st.Messages)
			}
			if n := len(rec.recorded); n != 8 {
				t.Errorf("recorded %d messages, want 8", n)
			}
		})
	}
}

func TestPassFlagAndLeave(t *testing.T) {
	for _, disp := range []config.Disposition{config.DispositionFlag, config.DispositionLeave, config.DispositionDelete} {
		t.Run(string(disp), func(t *testing.T) {
			ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
			c := ms.client(t)
			bounces := fill(t, c, "INBOX", 0, 5)
			m := ms.mailbox(t, "INBOX")
			m.Disposition = disp
			rec := newMemRecorder()
			w := New(m, rec, testOptions(t))
			mustPass(t, w)

			inbox := stateOf(t, c, "INBOX")
			unrec := stateOf(t, c, "Unrecognized")
			switch disp {
			case config.DispositionFlag:
				if inbox.Messages != bounces || inbox.Bounced != bounces || unrec.Messages != 5-bounces {
					t.Errorf("INBOX %+v, Unrecognized %+v; want %d flagged bounces kept, the rest moved", inbox, unrec, bounces)
				}
			case config.DispositionLeave:
				if inbox.Messages != 5 || inbox.Bounced != 0 || unrec.Messages != 0 {
					t.Errorf("INBOX %+v, Unrecognized %+v; want all 5 untouched", inbox, unrec)
				}
			case config.DispositionDelete:
				if inbox.Messages != 0 || unrec.Messages != 5-bounces || stateOf(t, c, "Processed").Messages != 0 {
					t.Errorf("INBOX %+v, Unrecognized %+v; want bounces deleted, the rest kept", inbox, unrec)
				}
			}
			// The checkpoint (leave) or the keyword (flag) keeps the second
			// pass from fetching anything again.
			if st := mustPass(t, w); st.Messages != 0 {
				t.Errorf("second pass fetched %d, want 0", st.Messages)
			}
			// New mail is still found.
			appendMessages(t, c, "INBOX", bounceMessage(100, true, 0))
			if st := mustPass(t, w); st.Messages != 1 || st.Processed != 1 {
				t.Errorf("third pass = %+v, want the one new bounce", st)
			}
		})
	}
}

func TestRecorderFailureMovesNothing(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	bounces := fill(t, c, "INBOX", 0, 4)
	rec := newMemRecorder()
	rec.failWrite = errors.New("connection to PostgreSQL refused")
	w := New(ms.mailbox(t, "INBOX"), rec, testOptions(t))

	_, err := w.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL refused") || !strings.Contains(err.Error(), "not moved") {
		t.Fatalf("pass error = %v, want the recorder's error saying nothing was moved", err)
	}
	if got := stateOf(t, c, "INBOX"); got.Messages != 4 || got.Bounced != 0 {
		t.Errorf("INBOX = %+v, want all 4 untouched", got)
	}
	if got := stateOf(t, c, "Processed"); got.Messages != 0 {
		t.Errorf("Processed holds %d, want 0", got.Messages)
	}
	if ms.accepted.Load() != 2 { // the test client and one pass: a recorder error is not retried
		t.Errorf("%d connections, want 2 (no retry on a recorder error)", ms.accepted.Load())
	}
	if s := w.Status(); s.LastError == "" {
		t.Errorf("status has no last error")
	}

	rec.mu.Lock()
	rec.failWrite = nil
	rec.mu.Unlock()
	st := mustPass(t, w)
	if st.Processed != bounces || stateOf(t, c, "Processed").Messages != bounces || stateOf(t, c, "INBOX").Messages != 0 {
		t.Errorf("after recovery: stats %+v; want everything processed and moved", st)
	}
	want := Totals{Passes: 2, FailedPasses: 1, Processed: uint64(bounces), Unrecognized: uint64(4 - bounces)}
	if got := w.Status().Totals; got != want {
		t.Errorf("totals = %+v, want %+v", got, want)
	}
}

// TestRefusedMessageIsKeptNotStuck has the recorder refuse one message's
// data, as PostgreSQL would: the pass records every other message as usual,
// records that one as failed without its report and keeps it in the
// unrecognized folder, and the next pass finds nothing left to do.
func TestRefusedMessageIsKeptNotStuck(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	bounces := fill(t, c, "INBOX", 0, 6)
	rec := newMemRecorder()
	poison := "user2@example.net"
	rec.refuse = func(m store.Message) bool {
		return m.Report != nil && len(m.Report.Recipients) > 0 && m.Report.Recipients[0].Address == poison
	}
	mb := ms.mailbox(t, "INBOX")
	mb.BatchSize = 3
	w := New(mb, rec, testOptions(t))
	st := mustPass(t, w)
	if st.Processed != bounces-1 || st.Failed != 1 || st.Messages != 6 {
		t.Errorf("stats %+v: want %d processed and the refused one failed", st, bounces-1)
	}
	if got := rec.outcomes(); got[store.OutcomeFailed] != 1 || got[store.OutcomeProcessed] != bounces-1 {
		t.Errorf("recorded outcomes %v", got)
	}
	for _, m := range rec.recorded {
		if m.Outcome == store.OutcomeFailed && (m.Report != nil || !strings.Contains(m.Error, "refused by the database")) {
			t.Errorf("the refused message was recorded as %+v", m)
		}
	}
	if inbox, processed, kept := stateOf(t, c, "INBOX").Messages, stateOf(t, c, "Processed").Messages, stateOf(t, c, "Unrecognized").Messages; inbox != 0 || processed != bounces-1 || kept != 6-(bounces-1) {
		t.Errorf("folders INBOX %d, Processed %d, Unrecognized %d", inbox, processed, kept)
	}
	if cp, _ := rec.Checkpoint(context.Background(), mb.Name); cp.LastUID != 6 {
		t.Errorf("checkpoint at UID %d, want 6", cp.LastUID)
	}
	if st := mustPass(t, w); st.Messages != 0 {
		t.Errorf("second pass %+v, want nothing left", st)
	}
}

func TestCommitWithoutMoveIsRepaired(t *testing.T) {
	// The batch commits, then the process "dies" before the move (the
	// recorder reports an error after committing). The next pass fetches the
	// messages again, the ledger skips them and they are moved.
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	bounces := fill(t, c, "INBOX", 0, 6)
	rec := newMemRecorder()
	var crashes atomic.Int32
	rec.afterCommit = func(store.Batch) error {
		if crashes.Add(1) == 1 {
			return errors.New("simulated crash after commit")
		}
		return nil
	}
	w := New(ms.mailbox(t, "INBOX"), rec, testOptions(t))
	if _, err := w.Pass(context.Background()); err == nil {
		t.Fatal("first pass succeeded, want the simulated crash")
	}
	if got := stateOf(t, c, "INBOX").Messages; got != 6 {
		t.Fatalf("INBOX holds %d after the crash, want 6", got)
	}

	st := mustPass(t, w)
	if st.Duplicates != 3 { // the first batch of three was already recorded
		t.Errorf("duplicates = %d, want 3", st.Duplicates)
	}
	// The messages already recorded count as that alone, not as processed
	// again (the once summary added them up twice).
	if st.Messages != 6 || st.Processed+st.Unrecognized+st.Failed != 3 {
		t.Errorf("stats %+v: want 6 messages, 3 of them new (processed, unrecognized or failed) and 3 duplicates", st)
	}
	if n := len(rec.recorded); n != 6 {
		t.Errorf("ledger holds %d messages, want 6 (no double counts)", n)
	}
	if got := stateOf(t, c, "Processed").Messages; got != bounces {
		t.Errorf("Processed holds %d, want %d", got, bounces)
	}
	if got := stateOf(t, c, "INBOX").Messages; got != 0 {
		t.Errorf("INBOX holds %d, want 0", got)
	}
}

func TestConnectionDroppedMidFetchIsRetried(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	msgs := make([][]byte, 6)
	for i := range msgs {
		msgs[i] = bounceMessage(i, true, 4000)
	}
	appendMessages(t, c, "INBOX", msgs...)
	ms.dropAfter.Store(3000) // cut the pass's connection inside the first body
	rec := newMemRecorder()
	w := New(ms.mailbox(t, "INBOX"), rec, testOptions(t))

	st := mustPass(t, w)
	if st.Processed != 6 || len(rec.recorded) != 6 {
		t.Errorf("stats %+v, recorded %d; want all 6 processed once", st, len(rec.recorded))
	}
	if got := ms.accepted.Load(); got != 4 {
		t.Errorf("%d connections, want 4 (test client, dropped pass, retry and its disposer)", got)
	}
	if got := stateOf(t, c, "Processed").Messages; got != 6 {
		t.Errorf("Processed holds %d, want 6", got)
	}
}

func TestUIDValidityChangeRescans(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	fill(t, c, "Bounces", 0, 4)
	m := ms.mailbox(t, "Bounces")
	m.Disposition = config.DispositionLeave
	rec := newMemRecorder()
	w := New(m, rec, testOptions(t))
	mustPass(t, w)
	before, _ := rec.Checkpoint(context.Background(), "test")

	// Recreate the folder with the same messages plus one: a new
	// UIDVALIDITY, the old UIDs meaningless.
	if err := c.Delete("Bounces").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Bounces", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fill(t, c, "Bounces", 0, 5)

	st := mustPass(t, w)
	after, _ := rec.Checkpoint(context.Background(), "test")
	if !st.Rescanned || after.UIDValidity == before.UIDValidity {
		t.Fatalf("rescanned = %v, uidvalidity %d -> %d; want a rescan under a new UIDVALIDITY", st.Rescanned, before.UIDValidity, after.UIDValidity)
	}
	if st.Messages != 5 || st.Duplicates != 4 || len(rec.recorded) != 5 {
		t.Errorf("stats %+v, ledger %d; want 5 fetched, 4 duplicates, 5 recorded", st, len(rec.recorded))
	}
}

func TestOversizedMessageReadPartially(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	big := bounceMessage(1, true, 200<<10)      // a bounce: classified from its beginning
	bigJunk := bounceMessage(2, false, 200<<10) // not a bounce: kept as failed
	appendMessages(t, c, "INBOX", big, bigJunk, bounceMessage(3, true, 0))
	m := ms.mailbox(t, "INBOX")
	m.MaxSize = 8 << 10

	var mu sync.Mutex
	var maxRead int64
	opts := testOptions(t)
	opts.Parse = func(r io.Reader, o dsn.Options) (*dsn.Report, error) {
		cr := &countReader{r: r}
		rep, err := testParse(cr, o)
		mu.Lock()
		maxRead = max(maxRead, cr.n)
		mu.Unlock()
		return rep, err
	}
	rec := newMemRecorder()
	w := New(m, rec, opts)
	st := mustPass(t, w)
	if maxRead > m.MaxSize {
		t.Errorf("parser read %d bytes, more than max_size %d", maxRead, m.MaxSize)
	}
	if st.Processed != 2 || st.Failed != 1 {
		t.Errorf("stats %+v, want 2 processed (one of them oversized) and 1 failed", st)
	}
	for _, msg := range rec.recorded {
		if msg.UID == 1 && msg.Size != int64(len(big)) {
			t.Errorf("oversized message recorded with size %d, want %d", msg.Size, len(big))
		}
		if msg.UID == 2 && (msg.Outcome != store.OutcomeFailed || !strings.Contains(msg.Error, "max_size")) {
			t.Errorf("oversized junk recorded as %s %q", msg.Outcome, msg.Error)
		}
		if msg.UID == 3 && msg.MessageID != "<bounce-3@mx.example.org>" {
			t.Errorf("Message-ID = %q", msg.MessageID)
		}
	}
	if got := stateOf(t, c, "Unrecognized").Messages; got != 1 {
		t.Errorf("Unrecognized holds %d, want 1", got)
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestLeaseHeldElsewhereSkips(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 2)
	rec := newMemRecorder()
	leases := newMemLeases()
	if _, err := leases.AcquireLeases(context.Background(), "other", []string{"test"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Leases, opts.Replica = leases, "me"
	w := New(ms.mailbox(t, "INBOX"), rec, opts)
	st := mustPass(t, w)
	if !st.Skipped || st.Messages != 0 || stateOf(t, c, "INBOX").Messages != 2 {
		t.Errorf("stats %+v; want a skipped pass that touched nothing", st)
	}
	// Once the other replica released it, the pass takes the lease, its
	// batches carry it, and it is released after.
	leases.ReleaseLeases(context.Background(), []store.Lease{leases.leases["test"]})
	st = mustPass(t, w)
	if st.Skipped || st.Messages != 2 {
		t.Errorf("stats %+v after the release; want both messages", st)
	}
	if len(leases.leases) != 0 {
		t.Errorf("leases after the pass = %+v, want it released", leases.leases)
	}
}

func TestWrongPasswordIsNotRetried(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	m := ms.mailbox(t, "INBOX")
	m.Password = passwordFile(t, "wrong")
	var logs strings.Builder
	opts := testOptions(t)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := New(m, newMemRecorder(), opts).Pass(context.Background())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if ms.accepted.Load() != 1 {
		t.Errorf("%d connections, want 1", ms.accepted.Load())
	}
	if strings.Contains(err.Error()+logs.String(), "wrong") {
		t.Errorf("the password leaked into an error or log: %v %s", err, logs.String())
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and say nothing
		}
	}()
	m := config.Mailbox{Name: "silent", Address: ln.Addr().String(), TLS: config.TLSNone, Username: "u",
		Password: passwordFile(t, "p"), Folder: "INBOX", Timeout: 300 * time.Millisecond}
	opts := testOptions(t)
	opts.Attempts = 2
	start := time.Now()
	_, err = New(m, newMemRecorder(), opts).Pass(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s, want about 2 x 300ms", d)
	}
}

func TestCancelStopsBetweenBatches(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 9)
	rec := newMemRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	rec.afterCommit = func(store.Batch) error { cancel(); return nil }
	w := New(ms.mailbox(t, "INBOX"), rec, testOptions(t))
	st, err := w.Pass(ctx)
	if err == nil {
		t.Fatal("pass returned nil after cancel")
	}
	// The batch in hand finished: recorded and moved. No other started.
	if st.Batches != 1 || len(rec.recorded) != 3 {
		t.Errorf("stats %+v, recorded %d; want exactly one finished batch", st, len(rec.recorded))
	}
	if got := stateOf(t, c, "INBOX").Messages; got != 6 {
		t.Errorf("INBOX holds %d, want 6 (the finished batch was disposed of)", got)
	}
}

func TestSchedulerIdleWakesUp(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	m := ms.mailbox(t, "INBOX")
	m.Idle = true
	m.Schedule = "@every 1h" // only IDLE can wake it within the test
	rec := newMemRecorder()
	opts := testOptions(t)
	var started <-chan struct{}
	opts.Logger, started = idleWatch(t)
	w := New(m, rec, opts)
	s := NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	// Let the IDLE connection start, then deliver. go-imap's in-process
	// server can miss a message delivered in the instant it enters IDLE
	// (it only reports what arrives while it waits), so a second message
	// follows a second later if the first went unnoticed: either way only
	// IDLE can wake the watcher within the test.
	waitIdle(t, w, started)
	appendMessages(t, c, "INBOX", bounceMessage(1, true, 0))
	deadline := time.Now().Add(5 * time.Second)
	second := time.Now().Add(time.Second)
	for len(rec.outcomes()) == 0 && time.Now().Before(deadline) {
		if !second.IsZero() && time.Now().After(second) {
			appendMessages(t, c, "INBOX", bounceMessage(2, true, 0))
			second = time.Time{}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.outcomes()[store.OutcomeProcessed]; got < 1 {
		t.Errorf("processed %d after IDLE, want at least 1", got)
	}
	if st := s.Statuses(); len(st) != 1 || st[0].LastSuccess.IsZero() {
		t.Errorf("statuses = %+v", st)
	}
}

func TestMessageID(t *testing.T) {
	cases := map[string]string{
		"From: a\r\nMessage-ID: <x@y>\r\n\r\nbody":            "<x@y>",
		"message-id:\r\n <folded@y>\r\nSubject: s\r\n\r\n":    "<folded@y>",
		"From: a\n\nMessage-ID: <in-body@y>\n":                "",
		"Subject: no id\r\n\r\n":                              "",
		"X-Message-ID: <not-this@y>\r\nMessage-Id: <a@b>\r\n": "<a@b>",
	}
	for in, want := range cases {
		if got := messageID([]byte(in)); got != want {
			t.Errorf("messageID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSchedulerNeverOverlapsAndSurvivesParserPanics(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 2)
	m := ms.mailbox(t, "INBOX")
	m.Schedule = "@every 1s"
	rec := newMemRecorder()
	var running, overlaps, passes atomic.Int32
	rec.afterCommit = func(store.Batch) error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(1500 * time.Millisecond) // longer than the schedule's period
		running.Add(-1)
		passes.Add(1)
		return nil
	}
	var panicked atomic.Bool
	opts := testOptions(t)
	opts.Parse = func(r io.Reader, o dsn.Options) (*dsn.Report, error) {
		if !panicked.Swap(true) {
			panic("parser bug")
		}
		return testParse(r, o)
	}
	leases := newMemLeases()
	opts.Leases, opts.Replica = leases, "me"
	w := New(m, rec, opts)
	s := NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{Leases: leases, Replica: "me", TakeoverAfter: 400 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(8 * time.Second)
	for passes.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// A new message mid-way keeps later passes busy, ticks keep coming.
	appendMessages(t, c, "INBOX", bounceMessage(10, true, 0))
	for passes.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if !panicked.Load() || passes.Load() < 2 {
		t.Fatalf("panicked %v, passes %d: want a panic and then passes that go on", panicked.Load(), passes.Load())
	}
	if overlaps.Load() != 0 {
		t.Errorf("%d overlapping passes", overlaps.Load())
	}
	if st := s.LeaseStats(); st.Losses != 0 {
		t.Errorf("lease stats %+v: the panic lost the lease", st)
	}
	leases.mu.Lock()
	held := len(leases.leases)
	leases.mu.Unlock()
	if held != 0 {
		t.Errorf("the mailbox's lease is still held after shutdown")
	}
	if got := rec.outcomes(); got[store.OutcomeFailed] != 1 || len(rec.recorded) != 3 {
		t.Errorf("recorded %v, want 3 with the one the parser choked on as failed", got)
	}
}

// TestParseAheadAndStreamingAgree covers both ways a body is read: small
// messages are read whole and parsed on other goroutines, until the batch's
// parse-ahead budget is spent; larger ones, and those after the budget, are
// streamed into the parser. Every one is recorded with its own hash, size,
// Message-ID and outcome, in UID order.
func TestParseAheadAndStreamingAgree(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	var msgs [][]byte
	msgs = append(msgs, bounceMessage(1, true, 0), bounceMessage(2, false, 0))
	msgs = append(msgs, bounceMessage(3, true, parseAheadMax+10<<10)) // streamed: too large to read ahead
	for i := range parseAheadBudget/(parseAheadMax-(64<<10)) + 2 {    // spends the budget: the last ones stream
		msgs = append(msgs, bounceMessage(4+i, i%2 == 0, parseAheadMax-(64<<10)))
	}
	msgs = append(msgs, bounceMessage(100, true, 0))
	appendMessages(t, c, "INBOX", msgs...)
	m := ms.mailbox(t, "INBOX")
	m.BatchSize, m.MaxSize = len(msgs), 4<<20

	rec := newMemRecorder()
	st := mustPass(t, New(m, rec, testOptions(t)))
	if st.Messages != len(msgs) || st.Batches != 1 {
		t.Fatalf("stats %+v, want %d messages in 1 batch", st, len(msgs))
	}
	if len(rec.recorded) != len(msgs) {
		t.Fatalf("recorded %d, want %d", len(rec.recorded), len(msgs))
	}
	for i, got := range rec.recorded {
		want := msgs[i]
		bounce := bytes.Contains(want[:min(512, len(want))], []byte("X-Test-Bounce:"))
		wantOutcome := store.OutcomeUnrecognized
		if bounce {
			wantOutcome = store.OutcomeProcessed
		}
		if got.UID != uint32(i+1) || got.ContentHash != sha256.Sum256(want) || got.Size != int64(len(want)) || got.Outcome != wantOutcome {
			t.Errorf("message %d recorded as UID %d, size %d, outcome %s (want size %d, %s), hash right %v",
				i+1, got.UID, got.Size, got.Outcome, len(want), wantOutcome, got.ContentHash == sha256.Sum256(want))
		}
		if !strings.HasPrefix(got.MessageID, "<bounce-") {
			t.Errorf("message %d: Message-ID %q", i+1, got.MessageID)
		}
	}
}

// TestPassRecordsBacklog: a pass counts the folder when it selects it and
// reports what it left; a pass stopped after its first batch leaves the
// rest as backlog in the mailbox's Status, and the next pass clears it.
func TestPassRecordsBacklog(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := testOptions(t)
	opts.AfterCommit = cancel // stop after the first batch of three
	w := New(ms.mailbox(t, "INBOX"), newMemRecorder(), opts)
	if got := w.Status().Backlog; !got.Counted.IsZero() {
		t.Fatalf("backlog before any pass = %+v, want none measured", got)
	}

	began := time.Now()
	st, err := w.Pass(ctx)
	if !errors.Is(err, errStopped) {
		t.Fatalf("stopped pass: %v, want errStopped", err)
	}
	if st.Messages != 3 {
		t.Fatalf("stopped pass recorded %d messages, want the first batch of 3", st.Messages)
	}
	want := Backlog{InFolder: 8, Waiting: 8, Left: 5}
	got := w.Status().Backlog
	if got.Counted.Before(began) || got.Counted.After(time.Now()) {
		t.Errorf("backlog counted at %v, want during the pass", got.Counted)
	}
	got.Counted = time.Time{}
	if got != want {
		t.Errorf("backlog after the stopped pass = %+v, want %+v", got, want)
	}
	if n := stateOf(t, c, "INBOX").Messages; n != want.Left {
		t.Errorf("INBOX holds %d, the backlog says %d", n, want.Left)
	}

	w.opts.AfterCommit = nil
	appendMessages(t, c, "INBOX", bounceMessage(100, true, 0))
	st = mustPass(t, w)
	if st.Messages != 6 {
		t.Errorf("second pass recorded %d messages, want 6", st.Messages)
	}
	got = w.Status().Backlog
	got.Counted = time.Time{}
	if want := (Backlog{InFolder: 6, Waiting: 6, Left: 0}); got != want {
		t.Errorf("backlog after the full pass = %+v, want %+v", got, want)
	}
	if st.Backlog.Left != 0 || st.Backlog.InFolder != 6 {
		t.Errorf("pass stats backlog = %+v", st.Backlog)
	}
}
