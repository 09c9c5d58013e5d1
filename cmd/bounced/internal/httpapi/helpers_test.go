package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/cmd/bounced/internal/metrics"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/returnpath"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

// The tokens every test server accepts: two, as during a rotation.
const (
	tokenOld = "old-token-0123456789abcdef"
	tokenNew = "new-token-fedcba9876543210"
)

// clock is a settable clock for store.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// statuses is a settable status source (the scheduler's part in the API),
// with lease counters.
type statuses struct {
	mu     sync.Mutex
	s      []imapwatch.Status
	leases imapwatch.LeaseStats
}

// LeaseStats makes statuses a LeaseSource, as the scheduler is: the
// counters set, else one lease held by "test-replica".
func (s *statuses) LeaseStats() imapwatch.LeaseStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases.Replica == "" {
		return imapwatch.LeaseStats{Replica: "test-replica", Held: 1}
	}
	return s.leases
}

func (s *statuses) Statuses() []imapwatch.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]imapwatch.Status(nil), s.s...)
}

func (s *statuses) set(st ...imapwatch.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s = st
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fixture is the API on a real store over a fresh, migrated database,
// served by httptest.
type fixture struct {
	t      *testing.T
	url    string // the database
	store  *store.Store
	clock  *clock
	status *statuses
	logs   *syncBuffer
	srv    *httptest.Server
	// metrics are the instruments the API's /metrics gathers.
	metrics *metrics.Metrics
}

var start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// newFixture starts the API on a fresh database. The store's clock starts
// at start.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	url := storetest.NewDatabase(t)
	f := &fixture{t: t, url: url, clock: &clock{t: start}, status: &statuses{}, logs: &syncBuffer{}, metrics: metrics.New()}
	ctx := context.Background()
	s, err := store.Open(ctx, url, store.WithClock(f.clock.now))
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	f.store = s
	f.srv = f.serve(s)
	return f
}

// serve starts an API server on st with f's status source and logs.
func (f *fixture) serve(st httpapi.Store) *httptest.Server {
	f.t.Helper()
	api, err := httpapi.New(httpapi.Options{
		Store:   st,
		Status:  f.status,
		Tokens:  []config.Secret{config.NewSecret(tokenOld), config.NewSecret(tokenNew)},
		Logger:  slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version: "v1.2.3",
		Metrics: f.metrics,
		// One mailbox with a return-path key, for POST /v1/return-paths.
		ReturnPaths: map[string]*returnpath.Scheme{"bounces": testSigner(f.t, "bounces")},
	})
	if err != nil {
		f.t.Fatalf("httpapi.New: %v", err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	return srv
}

// testSigner returns the return-path signer of name@example.com with a key
// of its own.
func testSigner(t *testing.T, name string) *returnpath.Scheme {
	t.Helper()
	s, err := returnpath.New(returnpath.Config{ReturnPath: name + "@example.com", Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef-" + name)}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// suppress adds addresses by hand at the store's current time.
func (f *fixture) suppress(reason string, addrs ...string) {
	f.t.Helper()
	for _, a := range addrs {
		if _, err := f.store.AddSuppression(context.Background(), a, reason, "test", "seeded"); err != nil {
			f.t.Fatalf("suppressing %s: %v", a, err)
		}
	}
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the JSON body into v, failing the test otherwise.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorText returns the "error" of a JSON error body, failing the test when
// the body is not one.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.decode(t, &e)
	if e.Error == "" {
		t.Errorf("error body %s has no error", r.body)
	}
	return e.Error
}

// do sends a request with the given token ("" for none) to srv.
func do(t *testing.T, srv *httptest.Server, token, method, path string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// call sends an authenticated request to the fixture's server; a non-nil
// body that is not an io.Reader is sent as JSON.
func (f *fixture) call(method, path string, body any) response {
	f.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	return do(f.t, f.srv, tokenNew, method, path, r)
}

// tcpProxy forwards connections to target until stopped, after which it
// refuses new ones and has cut the open ones: a database gone away.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		go func() { io.Copy(up, down); up.Close() }()
		go func() { io.Copy(down, up); down.Close() }()
	}
}

func (p *tcpProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
