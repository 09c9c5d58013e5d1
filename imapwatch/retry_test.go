package imapwatch

import (
	"context"
	"errors"
	"log/slog"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

// TestFailedPassRetriedBeforeNextTick: with the database failing, a pass
// fails; once it is back, the messages are recorded within seconds, not at
// the next tick an hour later.
func TestFailedPassRetriedBeforeNextTick(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	c := ms.client(t)
	bounces := fill(t, c, "INBOX", 0, 4)
	m := ms.mailbox(t, "INBOX") // @every 1h
	rec := newMemRecorder()
	rec.failWrite = errors.New("connection to PostgreSQL refused")
	opts := testOptions(t)
	opts.Backoff = 50 * time.Millisecond
	w := New(m, rec, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{}).Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, 5*time.Second, "two failed passes", func() bool { return w.Status().Totals.FailedPasses >= 2 })
	rec.mu.Lock()
	rec.failWrite = nil
	rec.mu.Unlock()
	waitUntil(t, 5*time.Second, "the messages recorded after the database came back", func() bool {
		return stateOf(t, c, "Processed").Messages == bounces
	})
	if s := w.Status(); s.LastError != "" || s.LastSuccess.IsZero() {
		t.Errorf("status after recovery = %+v, want a success and no error", s)
	}
}

// TestCannotHealIsNotRetried: a refused login is tried once in the pass and
// not again before the next tick, and the error says so.
func TestCannotHealIsNotRetried(t *testing.T) {
	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	m := ms.mailbox(t, "INBOX")
	m.Password = passwordFile(t, "wrong")
	opts := testOptions(t)
	opts.Backoff = 20 * time.Millisecond
	w := New(m, newMemRecorder(), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- NewScheduler([]*Watcher{w}, opts.Logger, SchedulerOptions{}).Run(ctx) }()
	waitUntil(t, 5*time.Second, "the failed pass", func() bool { return w.Status().Totals.FailedPasses >= 1 })
	time.Sleep(500 * time.Millisecond) // 25 backoffs
	cancel()
	<-done
	if n := ms.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a refused login is not retried", n)
	}
	if s := w.Status(); !strings.Contains(s.LastError, "not retried: the server refused the login") {
		t.Errorf("last error %q does not say it is not retried and why", s.LastError)
	}

	// A configuration error is not retried either.
	m = ms.mailbox(t, "INBOX")
	m.Address = "192.0.2.1:143" // plaintext to a remote host is refused
	_, err := New(m, newMemRecorder(), opts).Pass(context.Background())
	var nr *NotRetriedError
	if !errors.As(err, &nr) || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "not retried: the configuration") {
		t.Errorf("plaintext to a remote host: %v, want a configuration error, not retried", err)
	}
}

func TestBackoffAndInterval(t *testing.T) {
	var got []time.Duration
	b := time.Duration(0)
	for range 6 {
		b = nextBackoff(b, time.Second, 10*time.Second)
		got = append(got, b)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoffs %v, want %v", got, want)
		}
	}
	for spec, want := range map[string]time.Duration{"@every 1h": time.Hour, "*/5 * * * *": 5 * time.Minute, "@daily": 24 * time.Hour} {
		s, err := cron.ParseStandard(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := scheduleInterval(s, time.Date(2024, 5, 1, 10, 2, 0, 0, time.UTC)); got != want {
			t.Errorf("interval of %q = %s, want %s", spec, got, want)
		}
	}
}

// TestLeaseErrorSaidOnce: when PostgreSQL refuses the mailbox's lease, the
// pass's error names the lease once ("locking mailbox test: locking mailbox
// test: ..." was seen with the advisory lock before).
func TestLeaseErrorSaidOnce(t *testing.T) {
	url := storetest.NewDatabase(t)
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	ms := startMemServer(t, imap.CapSet{imap.CapIMAP4rev2: {}})
	_, err = New(ms.mailbox(t, "INBOX"), s, Options{Logger: slog.New(slog.DiscardHandler), Leases: s, Replica: "r"}).Pass(ctx)
	if err == nil || strings.Count(err.Error(), "lease of mailbox test") != 1 {
		t.Errorf("pass error = %v, want \"lease of mailbox test\" once", err)
	}
}

// waitUntil polls cond until it holds or d has passed.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
