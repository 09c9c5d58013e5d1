package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/cmd/bounced/internal/metrics"
	"github.com/bounced/bounced/cmd/bounced/internal/statuspage"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/returnpath"
	"github.com/bounced/bounced/store"
)

func runDaemon(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "run", "", "Runs the daemon: every mailbox on its schedule (and IDLE where configured)\nuntil SIGTERM or SIGINT, serving /healthz and /readyz. DATABASE_URL names the\nPostgreSQL database.\n\nWith api_token_env or api_token_file in the configuration it also serves the\nHTTP API on the same address, each request with \"Authorization: Bearer TOKEN\":\n  GET    /v1/suppressions?limit=N&cursor=C&since=RFC3339   a page of the list\n  GET    /v1/suppressions/ADDRESS                          one address (404: not suppressed)\n  POST   /v1/suppressions/check  {\"addresses\": [...]}      bulk check\n  GET    /v1/suppressions.csv                              the whole list as CSV\n  POST   /v1/suppressions  {\"address\", \"reason\", \"note\"}   suppress by hand\n  DELETE /v1/suppressions/ADDRESS?reason=TEXT              lift (audited)\n  POST   /v1/return-paths  {\"mailbox\", \"addresses\": [...]}  signed envelope senders\n  GET    /v1/openapi.json                                  the OpenAPI 3.1 description\n  GET    /metrics                                          Prometheus metrics\n\nand the status page at / (sign in with the API token, or send the same\nAuthorization header): bounces by reason, sender-side incidents and their\nfix, recipient domains, the suppression list, the mailboxes; English and German.")
	path := configFlag(fs)
	logFormat := fs.String("log-format", "", "log format, text or json (default from the configuration)")
	listen := fs.String("listen", "", "address for /healthz, /readyz, the HTTP API and /metrics (default from the configuration)")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	cfg := loadConfig(e.stderr, *path, config.Uses{Database: true, Daemon: true})
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

	// The instruments the watchers and webhooks report to; /metrics
	// serves them.
	instruments := metrics.New()
	warnForgery(cfg, logger)
	watchers := make([]*imapwatch.Watcher, len(cfg.Mailboxes))
	for i, m := range cfg.Mailboxes {
		opts, err := watcherOptions(cfg, m, rec, logger, false)
		if err != nil {
			logger.Error("cannot read the mailbox's return-path keys", "mailbox", m.Name, "err", err)
			return 1
		}
		opts.Observer = instruments
		watchers[i] = imapwatch.New(m, rec, opts)
	}
	leases, _ := rec.(imapwatch.Leaser)
	sched := imapwatch.NewScheduler(watchers, logger, imapwatch.SchedulerOptions{
		Leases: leases, Replica: cfg.ReplicaName(), TakeoverAfter: cfg.TakeoverAfter, MaxParallel: cfg.MaxParallel})
	stopWebhooks, err := startWebhooks(ctx, cfg, rec, logger, instruments)
	if err != nil {
		logger.Error("cannot start the webhooks", "err", err)
		return 1
	}
	defer stopWebhooks()
	st, _ := rec.(*store.Store) // only the PostgreSQL store has events to prune
	defer startPruning(ctx, cfg, st, logger)()

	api, err := newAPI(cfg, rec, sched, logger, instruments)
	if err != nil {
		logger.Error("cannot start the HTTP API", "err", err)
		return 1
	}
	var pages []tokenSetter
	authorized := func(*http.Request) bool { return false }
	if api != nil {
		authorized = api.Authorized
	}
	mux := healthHandler(sched, authorized)
	if api != nil {
		api.Register(mux)
		page, err := newStatusPage(cfg, rec, sched, logger)
		if err != nil {
			logger.Error("cannot start the status page", "err", err)
			return 1
		}
		if page != nil {
			page.Register(mux)
			pages = append(pages, page)
		}
	}
	defer reloadOnHangup(ctx, cfg, api, logger, pages...)()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("cannot listen for health checks", "listen", cfg.Listen, "err", err)
		return 1
	}
	srv := httpapi.NewServer(mux, httpapi.DefaultServerLimits)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("health server stopped", "err", err)
		}
	}()
	logger.Info("bounced running", "listen", ln.Addr().String(), "mailboxes", len(watchers), "api", api != nil)

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

// newAPI returns the HTTP API on rec's store with the configured tokens, or
// nil, logged once, when no token is configured: the API is never served
// without authentication.
func newAPI(cfg *config.Config, rec imapwatch.Recorder, sched *imapwatch.Scheduler, logger *slog.Logger, instruments *metrics.Metrics) (*httpapi.API, error) {
	if !cfg.APIToken.Configured() {
		logger.Info("HTTP API is off (/v1 and /metrics are not served): set api_token_env or api_token_file to serve it")
		return nil, nil
	}
	st, ok := rec.(httpapi.Store)
	if !ok {
		logger.Warn("HTTP API is off: the recorder is not the PostgreSQL store")
		return nil, nil
	}
	tokens, err := cfg.APIToken.Read()
	if err != nil {
		return nil, err
	}
	signers := map[string]*returnpath.Scheme{}
	for i := range cfg.Mailboxes {
		s, err := cfg.Mailboxes[i].ReturnPathScheme()
		if err != nil {
			return nil, err
		}
		if s != nil {
			signers[cfg.Mailboxes[i].Name] = s
		}
	}
	return httpapi.New(httpapi.Options{Store: st, Status: sched, Tokens: tokens, Logger: logger.With("component", "api"), Metrics: instruments, ReturnPaths: signers})
}

// newStatusPage returns the status page on rec's store, signed in with the
// API's tokens, or nil when the recorder is not the PostgreSQL store. It is
// only called when the API is on: no page is served without a token.
func newStatusPage(cfg *config.Config, rec imapwatch.Recorder, sched *imapwatch.Scheduler, logger *slog.Logger) (*statuspage.Page, error) {
	st, ok := rec.(statuspage.Store)
	if !ok {
		logger.Warn("status page is off: the recorder is not the PostgreSQL store")
		return nil, nil
	}
	tokens, err := cfg.APIToken.Read()
	if err != nil {
		return nil, err
	}
	return statuspage.New(statuspage.Options{Store: st, Status: sched, Tokens: tokens, Logger: logger.With("component", "statuspage")})
}

// healthHandler serves /healthz (the process is up) and /readyz (ready
// unless a mailbox's most recent pass failed), without authentication. The
// HTTP API registers on the same mux.
//
// Anyone who can reach the port learns no more than that: /readyz lists
// each mailbox's configured name with "ok" or "failing". The details (last
// success, the last error's text, which names hosts and users) need the
// API's bearer token: /readyz?verbose=1 with "Authorization: Bearer TOKEN"
// (authorized says whether a request carries it); without it that is a 401.
func healthHandler(sched interface{ Statuses() []imapwatch.Status }, authorized func(*http.Request) bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		verbose := r.URL.Query().Get("verbose")
		verbose = strings.TrimSpace(verbose)
		detail := verbose != "" && verbose != "0" && verbose != "false"
		w.Header().Set("Content-Type", "application/json")
		if detail && !authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bounced"`)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(struct {
				Error string `json:"error"`
			}{"/readyz?verbose=1 needs the API's bearer token (Authorization: Bearer TOKEN)"})
			return
		}
		statuses := sched.Statuses()
		ready := true
		type state struct {
			Mailbox string `json:"mailbox"`
			State   string `json:"state"` // "ok" or "failing"
		}
		states := make([]state, len(statuses))
		for i, s := range statuses {
			states[i] = state{Mailbox: s.Mailbox, State: "ok"}
			if s.LastError != "" {
				ready = false
				states[i].State = "failing"
			}
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if detail {
			json.NewEncoder(w).Encode(struct {
				Ready     bool               `json:"ready"`
				Mailboxes []imapwatch.Status `json:"mailboxes"`
			}{ready, statuses})
			return
		}
		json.NewEncoder(w).Encode(struct {
			Ready     bool    `json:"ready"`
			Mailboxes []state `json:"mailboxes"`
		}{ready, states})
	})
	return mux
}
