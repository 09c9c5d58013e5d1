package imapwatch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/bounced/bounced/store"
)

// observed records what a Watcher tells its Observer.
type observed struct {
	mu      sync.Mutex
	passes  []observedPass
	batches []store.BatchResult
	// batchMailboxes and batchDurations are the other arguments of each
	// ObserveBatch.
	batchMailboxes []string
	batchDurations []time.Duration
}

type observedPass struct {
	mailbox string
	d       time.Duration
	skipped bool
	err     error
}

func (o *observed) ObservePass(mailbox string, d time.Duration, skipped bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.passes = append(o.passes, observedPass{mailbox, d, skipped, err})
}

func (o *observed) ObserveBatch(mailbox string, d time.Duration, res store.BatchResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batchMailboxes = append(o.batchMailboxes, mailbox)
	o.batchDurations = append(o.batchDurations, d)
	o.batches = append(o.batches, res)
}

// TestObserverSeesPassesAndBatches: every pass is reported with its
// duration and error, every committed batch with its result; a failed
// commit is not reported as a batch.
func TestObserverSeesPassesAndBatches(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 8)
	rec := newMemRecorder()
	obs := &observed{}
	opts := testOptions(t)
	opts.Observer = obs
	w := New(ms.mailbox(t, "INBOX"), rec, opts)

	st := mustPass(t, w)
	obs.mu.Lock()
	if len(obs.passes) != 1 || obs.passes[0].mailbox != w.Name() || obs.passes[0].err != nil || obs.passes[0].d != st.Duration {
		t.Errorf("passes observed: %+v, want one of %s taking %v", obs.passes, w.Name(), st.Duration)
	}
	for i, m := range obs.batchMailboxes {
		if m != w.Name() || obs.batchDurations[i] <= 0 {
			t.Errorf("batch %d observed for mailbox %q taking %v", i, m, obs.batchDurations[i])
		}
	}
	n := 0
	for _, b := range obs.batches {
		n += b.Messages
	}
	if len(obs.batches) != st.Batches || n != 8 {
		t.Errorf("%d batches observed with %d messages, want %d with 8", len(obs.batches), n, st.Batches)
	}
	obs.mu.Unlock()

	// A pass whose commit fails is reported as failed, with no batch.
	fill(t, c, "INBOX", 8, 2)
	rec.mu.Lock()
	rec.failWrite = errors.New("database down")
	rec.mu.Unlock()
	if _, err := w.Pass(t.Context()); err == nil {
		t.Fatal("pass with a failing recorder succeeded")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.passes) != 2 || obs.passes[1].err == nil {
		t.Errorf("passes observed: %+v, want a second, failed one", obs.passes)
	}
	if n := len(obs.batches); n != st.Batches {
		t.Errorf("%d batches observed after a failed commit, want still %d", n, st.Batches)
	}
}

// TestObserverSeesSchedulerPasses: the passes the Scheduler runs, under
// its leases, are reported like those of Pass.
func TestObserverSeesSchedulerPasses(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}})
	c := ms.client(t)
	fill(t, c, "INBOX", 0, 3)
	obs := &observed{}
	opts := testOptions(t)
	opts.Observer = obs
	leases := newMemLeases()
	opts.Leases, opts.Replica = leases, "me"
	w := New(ms.mailbox(t, "INBOX"), newMemRecorder(), opts)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{Leases: leases, Replica: "me", TakeoverAfter: 400 * time.Millisecond}).Run(ctx)
	}()
	waitUntil(t, 10*time.Second, "the scheduler's first pass to be observed", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return len(obs.passes) > 0
	})
	cancel()
	<-done
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if p := obs.passes[0]; p.mailbox != w.Name() || p.err != nil || p.skipped {
		t.Errorf("observed %+v, want a successful pass over %s", p, w.Name())
	}
}
