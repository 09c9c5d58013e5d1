package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bounced/bounced/imapwatch"
)

func runDaemon(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "run", "", "Runs the daemon: every mailbox on its schedule (and IDLE where configured)\nuntil SIGTERM or SIGINT, serving /healthz and /readyz. DATABASE_URL names the\nPostgreSQL database.")
	path := configFlag(fs)
	logFormat := fs.String("log-format", "", "log format, text or json (default from the configuration)")
	listen := fs.String("listen", "", "address for /healthz and /readyz (default from the configuration)")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	cfg := loadConfig(e.stderr, *path, true)
	if cfg == nil {
		return 2
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	logger, err := newLogger(e, cfg, *logFormat)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced run: %v\n", err)
		return 2
	}

	rec, closeFn, err := recorderOpener(ctx, os.Getenv("DATABASE_URL"), cfg, logger)
	if err != nil {
		logger.Error("cannot open the store", "err", err)
		return 1
	}
	defer closeFn()

	watchers := make([]*imapwatch.Watcher, len(cfg.Mailboxes))
	for i, m := range cfg.Mailboxes {
		watchers[i] = imapwatch.New(m, rec, watcherOptions(cfg, logger, false))
	}
	sched := imapwatch.NewScheduler(watchers, logger)
	stopWebhooks, err := startWebhooks(ctx, cfg, rec, logger)
	if err != nil {
		logger.Error("cannot start the webhooks", "err", err)
		return 1
	}
	defer stopWebhooks()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("cannot listen for health checks", "listen", cfg.Listen, "err", err)
		return 1
	}
	srv := &http.Server{Handler: healthHandler(sched), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("health server stopped", "err", err)
		}
	}()
	logger.Info("bounced running", "listen", ln.Addr().String(), "mailboxes", len(watchers))

	err = sched.Run(ctx)
	logger.Info("shutting down")
	stopWebhooks()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err != nil {
		logger.Error("scheduler failed", "err", err)
		return 1
	}
	return 0
}

// healthHandler serves /healthz (the process is up) and /readyz (ready
// unless a mailbox's most recent pass failed; the body lists every mailbox's
// state as JSON).
func healthHandler(sched *imapwatch.Scheduler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		statuses := sched.Statuses()
		ready := true
		for _, s := range statuses {
			if s.LastError != "" {
				ready = false
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(struct {
			Ready     bool               `json:"ready"`
			Mailboxes []imapwatch.Status `json:"mailboxes"`
		}{ready, statuses})
	})
	return mux
}
