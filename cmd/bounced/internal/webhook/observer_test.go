package webhook

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// deliveries records what a Deliverer tells its Observer.
type deliveries struct {
	mu   sync.Mutex
	seen []observedDelivery
}

type observedDelivery struct {
	webhook string
	d       time.Duration
	ok      bool
}

func (o *deliveries) ObserveDelivery(webhook string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, observedDelivery{webhook, d, err == nil})
}

// TestObserverSeesEveryAttempt: each request is reported with its duration
// and whether the receiver acknowledged it, failures included.
func TestObserverSeesEveryAttempt(t *testing.T) {
	t.Setenv("BOUNCED_TEST_WEBHOOK_SECRET", testSecret)
	st, _ := newStore(t)
	r := newReceiver(t)
	want := addresses("o", 2)
	bounce(t, st, 1, want...)
	r.status = func(n int, p Payload) int {
		if n == 1 {
			time.Sleep(20 * time.Millisecond) // a slow refusal
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	obs := &deliveries{}
	opts := fast
	opts.Observer = obs
	start(t, New(hook("crm", r.srv.URL), st, opts))
	r.waitAcked(t, want)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.seen) != 2 {
		t.Fatalf("observed %+v, want the failed attempt and the acknowledged one", obs.seen)
	}
	if o := obs.seen[0]; o.webhook != "crm" || o.ok || o.d < 20*time.Millisecond {
		t.Errorf("first attempt observed as %+v, want crm, failed, at least 20ms", o)
	}
	if o := obs.seen[1]; o.webhook != "crm" || !o.ok || o.d <= 0 {
		t.Errorf("second attempt observed as %+v, want crm, ok", o)
	}
}
