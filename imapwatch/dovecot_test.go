package imapwatch

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/store"
)

// dovecot describes the Dovecot started by .ci/dovecot.sh.
type dovecot struct {
	addr, tlsAddr, user, password, ca string
}

func requireDovecot(t testing.TB) dovecot {
	v := requireEnv(t, "TEST_IMAP_ADDR", "TEST_IMAPS_ADDR", "TEST_IMAP_USER", "TEST_IMAP_PASSWORD", "TEST_IMAP_CA")
	return dovecot{addr: v[0], tlsAddr: v[1], user: v[2], password: v[3], ca: v[4]}
}

// folder returns a fresh folder name, so tests sharing the server do not see
// each other's messages.
func uniqueFolder(prefix string) string {
	return fmt.Sprintf("%s-%s", prefix, rand.Text()[:10])
}

// mailbox configures a watcher of folder over implicit TLS, verifying the
// test certificate.
func (d dovecot) mailbox(t testing.TB, folder string) config.Mailbox {
	return config.Mailbox{
		Name: folder, Address: d.tlsAddr, TLS: config.TLSImplicit, CAFile: d.ca,
		Username: d.user, Auth: config.AuthLogin, Password: passwordFile(t, d.password),
		Folder: folder, Schedule: "@every 1h", BatchSize: 100, MaxSize: 1 << 20,
		Disposition: config.DispositionMove, ProcessedFolder: folder + "-Processed", UnrecognizedFolder: folder + "-Unrecognized",
		Timeout: 10 * time.Second,
	}
}

// client logs in over STARTTLS and creates folder.
func (d dovecot) client(t testing.TB, folder string) *imapclient.Client {
	t.Helper()
	pool, err := config.LoadCAFile(d.ca)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialStartTLS(d.addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("connecting to Dovecot: %v", err)
	}
	if err := c.Login(d.user, d.password).Wait(); err != nil {
		t.Fatalf("logging in to Dovecot: %v", err)
	}
	if folder != "" {
		if err := c.Create(folder, nil).Wait(); err != nil {
			t.Fatalf("creating %s: %v", folder, err)
		}
	}
	t.Cleanup(func() { c.Logout().Wait(); c.Close() })
	return c
}

func TestDovecotTLSModes(t *testing.T) {
	d := requireDovecot(t)
	cases := []struct {
		name   string
		adjust func(m *config.Mailbox)
	}{
		{"implicit", func(m *config.Mailbox) {}},
		{"starttls", func(m *config.Mailbox) { m.Address, m.TLS = d.addr, config.TLSStartTLS }},
		{"plaintext-loopback", func(m *config.Mailbox) { m.Address, m.TLS, m.CAFile = d.addr, config.TLSNone, "" }},
		{"plain-auth", func(m *config.Mailbox) { m.Auth = config.AuthPlain }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			folder := uniqueFolder("tls")
			c := d.client(t, folder)
			bounces := fill(t, c, folder, 0, 7)
			m := d.mailbox(t, folder)
			tc.adjust(&m)
			rec := newMemRecorder()
			st := mustPass(t, New(m, rec, testOptions(t)))
			if st.Messages != 7 || st.Processed != bounces {
				t.Errorf("stats %+v, want 7 messages, %d processed", st, bounces)
			}
			if got := stateOf(t, c, m.ProcessedFolder).Messages; got != bounces {
				t.Errorf("%s holds %d, want %d", m.ProcessedFolder, got, bounces)
			}
			if got := stateOf(t, c, m.UnrecognizedFolder).Messages; got != 7-bounces {
				t.Errorf("%s holds %d, want %d", m.UnrecognizedFolder, got, 7-bounces)
			}
			if got := stateOf(t, c, folder).Messages; got != 0 {
				t.Errorf("%s holds %d, want 0", folder, got)
			}
		})
	}
}

func TestDovecotCertificateVerification(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("verify")
	d.client(t, folder)

	for _, tc := range []struct {
		name string
		tls  config.TLSMode
		addr string
	}{{"implicit", config.TLSImplicit, d.tlsAddr}, {"starttls", config.TLSStartTLS, d.addr}} {
		t.Run(tc.name, func(t *testing.T) {
			m := d.mailbox(t, folder)
			m.TLS, m.Address, m.CAFile = tc.tls, tc.addr, "" // system roots do not know the test CA
			// Three attempts a long backoff apart are allowed; a
			// certificate that fails verification takes only one.
			start := time.Now()
			_, err := New(m, newMemRecorder(), Options{Attempts: 3, Backoff: 10 * time.Second}).Pass(context.Background())
			var verr *tls.CertificateVerificationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a certificate verification error", err)
			}
			if took := time.Since(start); took > 5*time.Second || !strings.Contains(err.Error(), "not retried: the server's certificate failed verification") {
				t.Errorf("err = %v after %s; want it at once, saying it is not retried", err, took)
			}

			var logs strings.Builder
			m.InsecureSkipVerify = true
			if _, err := New(m, newMemRecorder(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Pass(context.Background()); err != nil {
				t.Fatalf("with insecure_skip_verify: %v", err)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_skip_verify") {
				t.Errorf("no warning logged for insecure_skip_verify: %s", logs.String())
			}
		})
	}
}

func TestDovecotRecorderFailureAndRecovery(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("pgdown")
	c := d.client(t, folder)
	bounces := fill(t, c, folder, 0, 5)
	rec := newMemRecorder()
	rec.failWrite = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	m := d.mailbox(t, folder)
	w := New(m, rec, testOptions(t))
	if _, err := w.Pass(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want the recorder's error", err)
	}
	if got := stateOf(t, c, folder); got.Messages != 5 || got.Bounced != 0 {
		t.Fatalf("%s = %+v after a failed write, want all 5 untouched", folder, got)
	}
	rec.mu.Lock()
	rec.failWrite = nil
	rec.mu.Unlock()
	mustPass(t, w)
	if got := stateOf(t, c, m.ProcessedFolder).Messages; got != bounces {
		t.Errorf("after recovery %s holds %d, want %d", m.ProcessedFolder, got, bounces)
	}
	if n := len(rec.recorded); n != 5 {
		t.Errorf("recorded %d, want 5", n)
	}
}

func TestDovecotUIDValidityChange(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("uidv")
	c := d.client(t, folder)
	fill(t, c, folder, 0, 3)
	m := d.mailbox(t, folder)
	m.Disposition = config.DispositionLeave
	rec := newMemRecorder()
	w := New(m, rec, testOptions(t))
	mustPass(t, w)

	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fill(t, c, folder, 0, 4)
	st := mustPass(t, w)
	if !st.Rescanned || st.Messages != 4 || st.Duplicates != 3 || len(rec.recorded) != 4 {
		t.Errorf("stats %+v, ledger %d; want a rescan of 4 with 3 duplicates", st, len(rec.recorded))
	}
}

func TestDovecotCommitWithoutMove(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("crash")
	c := d.client(t, folder)
	bounces := fill(t, c, folder, 0, 10)
	rec := newMemRecorder()
	var calls atomic.Int32
	rec.afterCommit = func(store.Batch) error {
		if calls.Add(1) == 1 {
			return errors.New("simulated crash between commit and move")
		}
		return nil
	}
	m := d.mailbox(t, folder)
	m.BatchSize = 4
	w := New(m, rec, testOptions(t))
	if _, err := w.Pass(context.Background()); err == nil {
		t.Fatal("want the simulated crash")
	}
	st := mustPass(t, w)
	if st.Duplicates != 4 || len(rec.recorded) != 10 {
		t.Errorf("stats %+v, ledger %d; want 4 duplicates and 10 recorded once", st, len(rec.recorded))
	}
	if p, u, in := stateOf(t, c, m.ProcessedFolder).Messages, stateOf(t, c, m.UnrecognizedFolder).Messages, stateOf(t, c, folder).Messages; p != bounces || u != 10-bounces || in != 0 {
		t.Errorf("processed %d, unrecognized %d, left %d; want %d, %d, 0", p, u, in, bounces, 10-bounces)
	}
}

func TestDovecotDroppedConnection(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("drop")
	c := d.client(t, folder)
	for i := range 20 {
		appendMessages(t, c, folder, bounceMessage(i, true, 3000))
	}
	proxy := startCuttingProxy(t, d.addr, 30000) // cut inside the bodies of the first batch
	m := d.mailbox(t, folder)
	m.Address, m.TLS, m.CAFile = proxy.addr, config.TLSNone, ""
	rec := newMemRecorder()
	st := mustPass(t, New(m, rec, testOptions(t)))
	if st.Processed != 20 || len(rec.recorded) != 20 || proxy.conns.Load() < 2 {
		t.Errorf("stats %+v, recorded %d, connections %d; want 20 processed once after a reconnect", st, len(rec.recorded), proxy.conns.Load())
	}
	if got := stateOf(t, c, m.ProcessedFolder).Messages; got != 20 {
		t.Errorf("%s holds %d, want 20", m.ProcessedFolder, got)
	}
}

func TestDovecotIdle(t *testing.T) {
	d := requireDovecot(t)
	folder := uniqueFolder("idle")
	c := d.client(t, folder)
	m := d.mailbox(t, folder)
	m.Idle = true
	rec := newMemRecorder()
	opts := testOptions(t)
	var started <-chan struct{}
	opts.Logger, started = idleWatch(t)
	w := New(m, rec, opts)
	s := NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitIdle(t, w, started)
	appendMessages(t, c, folder, bounceMessage(1, true, 0))
	start := time.Now()
	for len(rec.outcomes()) == 0 && time.Since(start) < 10*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.outcomes()[store.OutcomeProcessed] != 1 {
		t.Fatalf("the new bounce was not processed within %s", took)
	}
	t.Logf("IDLE: processed %s after delivery", took)
}

// cuttingProxy forwards loopback connections to a server; the first one is
// cut after limit bytes from the server.
type cuttingProxy struct {
	addr  string
	conns atomic.Int32
}

func startCuttingProxy(t testing.TB, target string, limit int64) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &cuttingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			n := p.conns.Add(1)
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go func() { io.Copy(server, client); server.Close() }()
			go func() {
				if n == 1 {
					io.CopyN(client, server, limit)
				} else {
					io.Copy(client, server)
				}
				client.Close()
				server.Close()
			}()
		}
	}()
	return p
}

func TestDovecotDispositionFallbacks(t *testing.T) {
	d := requireDovecot(t)
	v := requireEnv(t, "TEST_IMAP_NOMOVE_ADDR", "TEST_IMAP_NOUIDPLUS_ADDR")
	cases := []struct {
		name      string
		addr      string
		disp      config.Disposition
		inboxLeft bool // the originals stay, flagged, for lack of UIDPLUS
	}{
		{"no-move", v[0], config.DispositionMove, false},
		{"no-move-no-uidplus", v[1], config.DispositionMove, true},
		{"delete-no-uidplus", v[1], config.DispositionDelete, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			folder := uniqueFolder("caps")
			c := d.client(t, folder)
			bounces := fill(t, c, folder, 0, 6)
			m := d.mailbox(t, folder)
			m.Address, m.TLS, m.CAFile, m.Disposition = tc.addr, config.TLSNone, "", tc.disp
			rec := newMemRecorder()
			w := New(m, rec, testOptions(t))
			mustPass(t, w)

			inbox := stateOf(t, c, folder)
			if tc.inboxLeft && (inbox.Messages != 6 || inbox.Bounced != 6) {
				t.Errorf("%s = %+v, want all 6 kept and flagged $Bounced", folder, inbox)
			}
			if !tc.inboxLeft && inbox.Messages != 0 {
				t.Errorf("%s = %+v, want empty", folder, inbox)
			}
			wantProcessed := bounces
			if tc.disp == config.DispositionDelete {
				wantProcessed = 0
			}
			if got := stateOf(t, c, m.ProcessedFolder).Messages; got != wantProcessed {
				t.Errorf("%s holds %d, want %d", m.ProcessedFolder, got, wantProcessed)
			}
			if got := stateOf(t, c, m.UnrecognizedFolder).Messages; got != 6-bounces {
				t.Errorf("%s holds %d, want %d", m.UnrecognizedFolder, got, 6-bounces)
			}
			if st := mustPass(t, w); st.Messages != 0 {
				t.Errorf("second pass fetched %d, want 0", st.Messages)
			}
		})
	}
}
