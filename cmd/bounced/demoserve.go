package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/cmd/bounced/internal/statuspage"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// interactive reports whether r is a terminal: the demo serves its status
// page by default only to a person who can press Ctrl-C, never in CI or a
// pipe.
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// serveDemo serves the status page for the demo's store on listen until ctx
// ends (Ctrl-C), signed in with a token made for this run and printed.
// ready, when not nil, gets the address served once it listens.
func serveDemo(ctx context.Context, e env, st *store.Store, listen string, status statuspage.StatusSource, ready func(addr, token string)) int {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	token := hex.EncodeToString(secret)
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	page, err := statuspage.New(statuspage.Options{Store: st, Status: status,
		Tokens: []config.Secret{config.NewSecret(token)}, Logger: logger})
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
		return 1
	}
	mux := http.NewServeMux()
	page.Register(mux)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: serving the status page: %v (choose another address with --listen)\n", err)
		return 1
	}
	srv := httpapi.NewServer(mux, httpapi.DefaultServerLimits)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	fmt.Fprintf(e.stdout, "\nStatus page: http://%s/\nSign in with the token %s\nCtrl-C stops the demo.\n", addr, token)
	if ready != nil {
		ready(addr, token)
	}
	select {
	case <-ctx.Done():
	case err := <-done:
		fmt.Fprintf(e.stderr, "bounced demo: the status page stopped: %v\n", err)
		return 1
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx) // Ctrl-C: whatever is still open ends with the process
	return 0
}

// watcherStatus shows one watcher's state to the status page.
type watcherStatus struct{ w *imapwatch.Watcher }

func (s watcherStatus) Statuses() []imapwatch.Status { return []imapwatch.Status{s.w.Status()} }
