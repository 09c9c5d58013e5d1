package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// lockedBuffer is a log sink safe for the reloading goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A SIGHUP makes bounced run read its API tokens again; a token file that
// cannot be read then keeps the tokens in use.
func TestHangupReloadsAPITokens(t *testing.T) {
	const oldToken, newToken = "old-token-0123456789", "new-token-0123456789"
	ctx := context.Background()
	s, err := store.Open(ctx, migratedDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	writeTokens := func(text string) {
		t.Helper()
		if err := os.WriteFile(tokenFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeTokens(oldToken + "\n")
	cfg := &config.Config{APIToken: config.APITokenSource{File: tokenFile}}
	tokens, err := cfg.APIToken.Read()
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Options{Store: s, Status: imapwatch.NewScheduler(nil, slog.New(slog.DiscardHandler), imapwatch.SchedulerOptions{}), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var logs lockedBuffer
	stop := reloadOnHangup(ctx, cfg, api, slog.New(slog.NewTextHandler(&logs, nil)))
	defer stop()

	status := func(token string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/suppressions", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	hangup := func(wantLog string) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%q in the log after SIGHUP", wantLog), func() bool {
			return strings.Contains(logs.String(), wantLog)
		})
	}

	writeTokens(newToken + "\n")
	hangup("API tokens reloaded")
	if got := status(oldToken); got != http.StatusUnauthorized {
		t.Errorf("the old token after reloading: %d, want 401", got)
	}
	if got := status(newToken); got != http.StatusOK {
		t.Errorf("the new token after reloading: %d, want 200", got)
	}

	writeTokens("# nothing here\n")
	hangup("keeping the API tokens in use")
	if got := status(newToken); got != http.StatusOK {
		t.Errorf("the token in use after a bad reload: %d, want 200", got)
	}
}
