package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/webhook"
	"github.com/bounced/bounced/store"
)

// TestRunDeliversWebhooks runs `bounced run` with a [webhook] section
// against PostgreSQL: suppressions reach the receiver, signed, and the
// daemon stops cleanly.
func TestRunDeliversWebhooks(t *testing.T) {
	dbURL := migratedDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("BOUNCED_TEST_PW", "pw")
	t.Setenv("BOUNCED_TEST_HOOK_SECRET", "hook-secret")
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddSuppression(ctx, "before@example.org", "complaint", "test", "added before the start"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify([]byte("hook-secret"), r.Header.Get(webhook.HeaderTimestamp),
			r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			bad = append(bad, err.Error())
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			bad = append(bad, err.Error())
		}
		for _, e := range p.Events {
			got = append(got, e.Type+" "+e.Address)
		}
	}))
	defer srv.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := l.Addr().String()
	l.Close()
	cfg := writeConfig(t, mailboxSection("m", memIMAP(t, 0), "BOUNCED_TEST_PW")+fmt.Sprintf(`
[webhook crm]
url = %s/bounced
secret_env = BOUNCED_TEST_HOOK_SECRET
poll_interval = 1h
start = beginning
`, srv.URL))

	code, out, errOut := runCmd(ctx, "check-config", "-config", cfg)
	if code != 0 || !strings.Contains(out, "webhook crm: "+srv.URL+"/bounced, batch_size 100") {
		t.Errorf("check-config: exit %d\n%s%s", code, out, errOut)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		code, _, _ := runCmd(runCtx, "run", "-listen", ln, "-config", cfg)
		done <- code
	}()
	waitDelivered := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			have := strings.Join(got, ", ")
			mu.Unlock()
			if have == strings.Join(want, ", ") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivered [%s], want %v", have, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitDelivered("suppressed before@example.org")
	if _, err := st.AddSuppression(ctx, "after@example.org", "user_unknown", "test", "added while running"); err != nil {
		t.Fatal(err)
	}
	waitDelivered("suppressed before@example.org", "suppressed after@example.org")

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d after cancel, want 0", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bad {
		t.Errorf("bad delivery: %s", b)
	}
}
