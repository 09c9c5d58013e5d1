package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

const testSecret = "test-secret-0123456789"

// newStore returns a Store on a fresh, migrated database, and its URL.
func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	url := storetest.NewDatabase(t)
	st := openStore(t, url)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st, url
}

// openStore opens another Store on url: another replica.
func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// bounce records one batch in which each address hard-bounced (user
// unknown): WriteBatch suppresses them all in one transaction.
func bounce(t *testing.T, st *store.Store, uid uint32, addrs ...string) {
	t.Helper()
	rep := &dsn.Report{Kind: dsn.KindDSN, ReportingMTA: "mx.example.net"}
	for _, a := range addrs {
		rep.Recipients = append(rep.Recipients, dsn.Recipient{
			Address: a, Action: dsn.ActionFailed, Status: "5.1.1", SMTPCode: 550,
			Diagnostic: "550 5.1.1 no such user",
			Classification: dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient,
				Permanent: true, Verdict: dsn.VerdictSuppress},
		})
	}
	content := fmt.Sprintf("bounce %d %v", uid, addrs)
	_, err := st.WriteBatch(context.Background(), store.Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: uid,
		Messages: []store.Message{{UID: uid, ContentHash: sha256.Sum256([]byte(content)), Size: int64(len(content)),
			Outcome: store.OutcomeProcessed, Report: rep}}})
	if err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
}

// addresses returns n addresses with the prefix p.
func addresses(p string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d@example.org", p, i)
	}
	return out
}

// receiver is the campaign tool: an HTTP server that checks every request
// and answers with what status says.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	// status returns the answer to the n-th request (from 1); nil: 200.
	status func(n int, p Payload) int

	mu       sync.Mutex
	requests []Payload // every request, in order of arrival
	acked    []Event   // the events of the requests answered 2xx, in order
	bad      []string  // what was wrong with requests
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var p Payload
	problems := []string{}
	if err != nil {
		problems = append(problems, "reading body: "+err.Error())
	}
	if err := json.Unmarshal(body, &p); err != nil {
		problems = append(problems, "decoding body: "+err.Error())
	}
	// The recipe of README.md, written out: HMAC-SHA256 over
	// "<timestamp>.<body>", hex, after "v1=".
	ts := req.Header.Get(HeaderTimestamp)
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(ts + "." + string(body)))
	if got, want := req.Header.Get(HeaderSignature), "v1="+hex.EncodeToString(mac.Sum(nil)); got != want {
		problems = append(problems, fmt.Sprintf("signature %q, want %q", got, want))
	}
	if err := Verify([]byte(testSecret), ts, req.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		problems = append(problems, "Verify: "+err.Error())
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "bounced",
		HeaderWebhook: p.Webhook, HeaderDelivery: p.Delivery} {
		if got := req.Header.Get(h); got != want || got == "" {
			problems = append(problems, fmt.Sprintf("header %s = %q, want %q", h, got, want))
		}
	}
	if req.Method != http.MethodPost {
		problems = append(problems, "method "+req.Method)
	}
	r.mu.Lock()
	r.requests = append(r.requests, p)
	n := len(r.requests)
	r.bad = append(r.bad, problems...)
	status := http.StatusOK
	if r.status != nil {
		status = r.status(n, p)
	}
	if status/100 == 2 {
		r.acked = append(r.acked, p.Events...)
	}
	r.mu.Unlock()
	w.WriteHeader(status)
	fmt.Fprintln(w, "thanks")
}

// ackedAddresses returns the addresses of the acknowledged events, in order.
func (r *receiver) ackedAddresses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.acked))
	for i, e := range r.acked {
		out[i] = e.Address
	}
	return out
}

func (r *receiver) requestCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAcked waits until the receiver has acknowledged want (in this order,
// with nothing else) and checks every request was well-formed.
func (r *receiver) waitAcked(t *testing.T, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d events acknowledged", len(want)), func() bool { return len(r.ackedAddresses()) >= len(want) })
	if got := r.ackedAddresses(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("acknowledged\n%v\nwant\n%v", got, want)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		t.Errorf("bad request: %s", b)
	}
}

func hook(name, url string) config.Webhook {
	return config.Webhook{
		Name: name, URL: url, Secret: config.SecretSource{Env: "BOUNCED_TEST_WEBHOOK_SECRET", Kind: "secret"},
		BatchSize: 100, Timeout: 5 * time.Second, PollInterval: time.Hour, Start: config.WebhookStartBeginning,
	}
}

var fast = Options{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// start runs d until the test ends or stop is called, which waits for Run to
// return.
func start(t *testing.T, d *Deliverer) (stop func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	stop = func() time.Duration {
		begin := time.Now()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		return time.Since(begin)
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestDeliversSignedEvents(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	ctx := context.Background()
	st, _ := newStore(t)
	r := newReceiver(t)
	bounce(t, st, 1, "a@example.org", "b@example.org")
	start(t, New(hook("crm", r.srv.URL+"/hook?token=x"), st, fast))
	r.waitAcked(t, []string{"a@example.org", "b@example.org"})

	if _, err := st.AddSuppression(ctx, "c@example.org", "complaint", "bob", "asked to stop"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LiftSuppression(ctx, "a@example.org", "alice", "confirmed by phone"); err != nil {
		t.Fatal(err)
	}
	r.waitAcked(t, []string{"a@example.org", "b@example.org", "c@example.org", "a@example.org"})

	r.mu.Lock()
	defer r.mu.Unlock()
	first, c, lift := r.acked[0], r.acked[2], r.acked[3]
	if first.Type != "suppressed" || first.Reason != "user_unknown" || first.Scope != "recipient" || first.ExpiresAt != nil ||
		first.ID == 0 || first.ActiveSince.IsZero() || first.LiftedAt != nil {
		t.Errorf("first event = %+v", first)
	}
	if c.Type != "suppressed" || c.Reason != "complaint" || !c.Manual {
		t.Errorf("manual event = %+v", c)
	}
	if lift.Type != "unsuppressed" || lift.ID != first.ID || lift.LiftedAt == nil || !lift.ActiveSince.Equal(first.ActiveSince) {
		t.Errorf("lift event = %+v (first %+v)", lift, first)
	}
	if p := r.requests[0]; p.Webhook != "crm" || len(p.Delivery) != 24 {
		t.Errorf("payload = %+v", p)
	}
}

func TestStartNowSkipsTheBacklog(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, _ := newStore(t)
	r := newReceiver(t)
	bounce(t, st, 1, "old@example.org")
	// "now" is the oldest transaction still running on the server: wait
	// until that is after the write (other tests share the server).
	waitFor(t, "the horizon to pass the first write", func() bool {
		var passed bool
		err := st.Pool().QueryRow(context.Background(), `SELECT pg_snapshot_xmin(pg_current_snapshot()) >
			(SELECT max(changed_xid) FROM suppressions)`).Scan(&passed)
		return err == nil && passed
	})
	h := hook("crm", r.srv.URL)
	h.Start = config.WebhookStartNow
	start(t, New(h, st, fast))
	// The new webhook's cursor exists once it has been claimed.
	waitFor(t, "the cursor", func() bool {
		_, err := st.Pool().Exec(context.Background(), `SELECT 1/count(*) FROM webhook_cursors`)
		return err == nil
	})
	bounce(t, st, 2, "new@example.org")
	r.waitAcked(t, []string{"new@example.org"})
}

func TestRetriesUntilAcknowledgedInOrder(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	ctx := context.Background()
	st, _ := newStore(t)
	r := newReceiver(t)
	want := addresses("r", 7)
	bounce(t, st, 1, want[:4]...)
	bounce(t, st, 2, want[4:]...)

	var cursorWhileFailing []store.ChangePosition
	const failures = 4
	r.status = func(n int, p Payload) int {
		if n <= failures {
			// The cursor does not move while the receiver fails.
			pos, err := st.WebhookCursor(ctx, "crm", store.CursorStartNow)
			if err != nil {
				t.Error(err)
			}
			cursorWhileFailing = append(cursorWhileFailing, pos)
			if n%2 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	h := hook("crm", r.srv.URL)
	h.BatchSize = 3
	start(t, New(h, st, fast))
	r.waitAcked(t, want)

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pos := range cursorWhileFailing {
		if pos != (store.ChangePosition{}) {
			t.Errorf("cursor moved to %+v before the receiver acknowledged anything", pos)
		}
	}
	// The failed requests were the first batch, sent again unchanged.
	first := r.requests[0]
	for i, p := range r.requests[:failures+1] {
		if p.Delivery != first.Delivery || len(p.Events) != 3 || p.Events[0].Address != want[0] {
			t.Errorf("attempt %d = %+v, want the first batch again", i+1, p)
		}
	}
	if len(r.requests) != failures+3 {
		t.Errorf("%d requests, want %d (%d failures, then 3 batches of up to 3)", len(r.requests), failures+3, failures)
	}
}

func TestRestartResumesFromTheCursor(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, _ := newStore(t)
	want := addresses("s", 6)
	bounce(t, st, 1, want...)

	// The receiver acknowledges the first batch and hangs on the second
	// until the deliverer gives up on it (shutdown).
	r := newReceiver(t)
	hung := make(chan struct{})
	release := make(chan struct{})
	r.status = func(n int, p Payload) int {
		if n == 2 {
			close(hung)
			<-release
			return http.StatusOK // too late: bounced is gone
		}
		return http.StatusOK
	}
	h := hook("crm", r.srv.URL)
	h.BatchSize = 2
	stop := start(t, New(h, st, fast))
	select {
	case <-hung:
	case <-time.After(20 * time.Second):
		t.Fatal("second batch never sent")
	}
	if took := stop(); took > 5*time.Second {
		t.Errorf("shutdown with a request in flight took %s", took)
	}
	close(release)

	pos, err := st.WebhookCursor(context.Background(), "crm", store.CursorStartNow)
	if err != nil {
		t.Fatal(err)
	}
	r2 := newReceiver(t)
	h.URL = r2.srv.URL
	start(t, New(h, openStore(t, st.Pool().Config().ConnString()), fast))
	// Everything after the acknowledged first batch, starting with the
	// batch that was in flight: nothing lost, nothing acknowledged sent
	// twice.
	r2.waitAcked(t, want[2:])
	if pos == (store.ChangePosition{}) {
		t.Error("the cursor did not move after the first batch")
	}
}

func TestReplicasDeliverOnce(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, url := newStore(t)
	r := newReceiver(t)
	h := hook("crm", r.srv.URL)
	h.PollInterval = 50 * time.Millisecond // the standby tries to take over this often

	var sent [2]atomic.Int32
	stops := make([]func() time.Duration, 2)
	for i := range 2 {
		opts := fast
		opts.Client = &http.Client{Transport: countingTransport{&sent[i]}}
		stops[i] = start(t, New(h, openStore(t, url), opts))
	}
	want := addresses("p", 10)
	for i, a := range want[:5] {
		bounce(t, st, uint32(i+1), a)
	}
	r.waitAcked(t, want[:5])
	active := 0
	if sent[1].Load() > 0 {
		active = 1
	}
	if sent[1-active].Load() != 0 {
		t.Fatalf("both replicas delivered: %d and %d requests", sent[0].Load(), sent[1].Load())
	}

	// The delivering replica stops: the other takes over where it left.
	stops[active]()
	for i, a := range want[5:] {
		bounce(t, st, uint32(i+6), a)
	}
	r.waitAcked(t, want)
	if sent[1-active].Load() == 0 {
		t.Error("the standby replica never delivered")
	}
}

// countingTransport counts the requests a replica sends.
type countingTransport struct{ n *atomic.Int32 }

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

func TestNotifyWakesDelivery(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, _ := newStore(t)
	r := newReceiver(t)
	bounce(t, st, 1, "first@example.org")
	start(t, New(hook("crm", r.srv.URL), st, fast)) // polls once an hour
	r.waitAcked(t, []string{"first@example.org"})

	begin := time.Now()
	bounce(t, st, 2, "second@example.org")
	r.waitAcked(t, []string{"first@example.org", "second@example.org"})
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("delivery after NOTIFY took %s", took)
	}
}

func TestShutdownMidRetryIsPrompt(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, _ := newStore(t)
	r := newReceiver(t)
	r.status = func(int, Payload) int { return http.StatusBadGateway }
	bounce(t, st, 1, "x@example.org")
	stop := start(t, New(hook("crm", r.srv.URL), st, Options{MinBackoff: time.Hour, MaxBackoff: time.Hour}))
	waitFor(t, "the first attempt", func() bool { return r.requestCount() > 0 })
	if took := stop(); took > 5*time.Second {
		t.Errorf("shutdown during the backoff took %s", took)
	}
	pos, err := st.WebhookCursor(context.Background(), "crm", store.CursorStartNow)
	if err != nil || pos != (store.ChangePosition{}) {
		t.Errorf("cursor = %+v, %v; want unmoved", pos, err)
	}
	if n := r.requestCount(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestUnreadableSecretIsRetried(t *testing.T) {
	st, _ := newStore(t)
	r := newReceiver(t)
	bounce(t, st, 1, "x@example.org")
	start(t, New(hook("crm", r.srv.URL), st, fast))
	time.Sleep(100 * time.Millisecond)
	if n := r.requestCount(); n != 0 {
		t.Fatalf("%d requests sent without a secret", n)
	}
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret) // the operator fixes it
	r.waitAcked(t, []string{"x@example.org"})
}
