// Package httpapi serves bounced's HTTP API inside `bounced run`: the
// suppression list (paged, checked, exported and changed by hand) under /v1
// and Prometheus metrics at /metrics, all behind bearer-token
// authentication. Health checks are not its business: `bounced run` serves
// them without authentication on the same mux.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/returnpath"
	"github.com/bounced/bounced/store"
)

// Limits of the API.
const (
	// MaxBodyBytes bounds a request body; a larger one is refused with 413.
	MaxBodyBytes = 1 << 20
	// DefaultPageSize is the page size of GET /v1/suppressions without limit.
	DefaultPageSize = 1000
	// MaxPageSize is the largest limit GET /v1/suppressions accepts.
	MaxPageSize = 10000
	// MaxCheckAddresses is the most addresses one bulk check may name.
	MaxCheckAddresses = 10000
	// DefaultDBTimeout bounds each handler's database work unless
	// Options.DBTimeout says otherwise.
	DefaultDBTimeout = 10 * time.Second
	// ExportTimeout bounds the CSV export, which reads the whole list.
	ExportTimeout = 10 * time.Minute
	// MetricsDBTimeout bounds the database query of a metrics scrape.
	MetricsDBTimeout = 2 * time.Second
)

// Actor is who the audit names for changes made through the API.
const Actor = "api"

// Store is what the API needs from the store. *store.Store implements it.
type Store interface {
	export.Lister
	// Suppressed returns the suppressions in force among addrs, keyed by
	// the address as given.
	Suppressed(ctx context.Context, addrs []string) (map[string]store.Suppression, error)
	AddSuppression(ctx context.Context, address, reason, actor, note string) (store.Suppression, error)
	LiftSuppression(ctx context.Context, address, actor, why string) (store.Suppression, error)
	SuppressionCounts(ctx context.Context) (inForce, expiring int64, err error)
	WebhookProgress(ctx context.Context) ([]store.WebhookProgress, error)
}

// StatusSource reports the state of every mailbox. *imapwatch.Scheduler
// implements it.
type StatusSource interface {
	Statuses() []imapwatch.Status
}

// Options configures an API. Store, Status and Tokens are required.
type Options struct {
	Store  Store
	Status StatusSource
	// Tokens are the bearer tokens accepted; any one of them will do.
	Tokens []config.Secret
	// Logger receives errors and refused requests; nil discards them.
	Logger *slog.Logger
	// DBTimeout bounds the database work of one request (the CSV export
	// has ExportTimeout); 0 means DefaultDBTimeout.
	DBTimeout time.Duration
	// Version is reported by the bounced_build_info metric; "" reads it
	// from the binary's build information.
	Version string
	// ReturnPaths are the return-path signers of the mailboxes that have a
	// key, by mailbox name, for POST /v1/return-paths.
	ReturnPaths map[string]*returnpath.Scheme
}

// API is the HTTP API. Register it on a mux.
type API struct {
	store     Store
	status    StatusSource
	tokens    atomic.Pointer[[][sha256.Size]byte] // replaced whole by SetTokens
	log       *slog.Logger
	dbTimeout time.Duration
	version   string
	signers   map[string]*returnpath.Scheme

	scrapeErrors atomic.Uint64
}

// New returns the API. It returns an error when no token is given: an API
// without authentication is never served.
func New(opts Options) (*API, error) {
	if opts.Store == nil || opts.Status == nil {
		return nil, errors.New("http api: a store and a status source are required")
	}
	a := &API{store: opts.Store, status: opts.Status, log: opts.Logger, dbTimeout: opts.DBTimeout, version: opts.Version, signers: opts.ReturnPaths}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.dbTimeout <= 0 {
		a.dbTimeout = DefaultDBTimeout
	}
	if a.version == "" {
		a.version = buildVersion()
	}
	if err := a.SetTokens(opts.Tokens); err != nil {
		return nil, err
	}
	return a, nil
}

// SetTokens replaces the bearer tokens accepted, for rotation without a
// restart (bounced run does it on SIGHUP). Requests already let through are
// not affected. It refuses an empty list and keeps the tokens it had.
func (a *API) SetTokens(tokens []config.Secret) error {
	if len(tokens) == 0 {
		return errors.New("http api: no bearer token configured")
	}
	hashed := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		hashed[i] = sha256.Sum256([]byte(t.Reveal()))
	}
	a.tokens.Store(&hashed)
	return nil
}

// Register adds the API's routes to mux, every one behind authentication:
//
//	GET    /v1/suppressions             a page of the list (limit, cursor, since)
//	GET    /v1/suppressions.csv         the whole list as CSV
//	GET    /v1/suppressions/{address}   one suppression, 404 when none
//	POST   /v1/suppressions/check       bulk check {"addresses": [...]}
//	POST   /v1/suppressions             suppress by hand {"address", "reason", "note"}
//	DELETE /v1/suppressions/{address}   lift, with a reason (query or body)
//	POST   /v1/return-paths             sign envelope senders {"mailbox", "addresses": [...], "verp"}
//	GET    /metrics                     Prometheus text format
//
// A request with another method gets 405 from mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /v1/suppressions", a.auth(a.list))
	mux.Handle("GET /v1/suppressions.csv", a.auth(a.exportCSV))
	mux.Handle("GET /v1/suppressions/{address}", a.auth(a.get))
	mux.Handle("POST /v1/suppressions/check", a.auth(a.check))
	mux.Handle("POST /v1/suppressions", a.auth(a.add))
	mux.Handle("DELETE /v1/suppressions/{address}", a.auth(a.lift))
	mux.Handle("POST /v1/return-paths", a.auth(a.signReturnPaths))
	mux.Handle("GET /metrics", a.auth(a.metrics))
}

// auth lets a request through when it carries one of the tokens as
// "Authorization: Bearer TOKEN". The comparison takes the same time for
// every configured token, whatever the given one is.
func (a *API) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			a.log.Info("refused API request without a bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bounced"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer TOKEN")
			return
		}
		given := sha256.Sum256([]byte(token))
		match := 0
		for _, t := range *a.tokens.Load() {
			match |= subtle.ConstantTimeCompare(given[:], t[:])
		}
		if match != 1 {
			a.log.Warn("refused API request with a wrong bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bounced", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid bearer token")
			return
		}
		next(w, r)
	})
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// fail answers a request whose store call returned err: 503 when the
// database cannot be reached or did not answer in time, else 500 with a
// generic message (err is logged, not shown).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		a.log.Warn("API request: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the database is unavailable, try again later")
		return
	}
	a.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// unavailable reports whether err says the database could not be reached
// or did not answer in time, rather than that the request was wrong.
func unavailable(err error) bool {
	var (
		connErr *pgconn.ConnectError
		pgErr   *pgconn.PgError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err),
		errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF): // the connection broke mid-answer
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P0x: the server is shutting
		// down or not yet accepting connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	return pgconn.SafeToRetry(err)
}

// dbContext returns the request's context bounded by the database timeout.
func (a *API) dbContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.dbTimeout)
}
