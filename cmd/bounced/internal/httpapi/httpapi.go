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
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/cmd/bounced/internal/metrics"
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

// ServerLimits are the timeouts and the header limit of the HTTP server of
// `bounced run` (NewServer).
type ServerLimits struct {
	// ReadHeader bounds reading a request's header; Read the whole request
	// (bodies are at most MaxBodyBytes).
	ReadHeader, Read time.Duration
	// Write bounds writing a response. The CSV export, which streams the
	// whole list, extends it for itself to ExportTimeout.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request.
	Idle time.Duration
	// MaxHeaderBytes bounds a request's header; a larger one is refused
	// with 431.
	MaxHeaderBytes int
}

// DefaultServerLimits are the limits of `bounced run`.
var DefaultServerLimits = ServerLimits{
	ReadHeader:     10 * time.Second,
	Read:           30 * time.Second,
	Write:          DefaultDBTimeout + 20*time.Second,
	Idle:           2 * time.Minute,
	MaxHeaderBytes: 64 << 10,
}

// NewServer returns the HTTP server for h with the given limits: no
// request may hold a connection longer than they allow.
func NewServer(h http.Handler, l ServerLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

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
	EachHeld(ctx context.Context, opts store.ListOptions, fn func(store.HeldSuppression) error) error
	HeldCount(ctx context.Context) (int64, error)
	ReleaseHeld(ctx context.Context, sel store.HeldSelection, actor, note string) (store.ReleaseResult, error)
	DiscardHeld(ctx context.Context, sel store.HeldSelection, actor, note string) ([]string, error)
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
	// Metrics is gathered at /metrics with the series the API reads at
	// each scrape; nil means a registry of its own with the Go runtime and
	// process collectors (metrics.New).
	Metrics *metrics.Metrics
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
	registry  prometheus.Gatherer
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
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	a.registry = opts.Metrics.Registry
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

// Route is one route of the API: a method and a path pattern of
// net/http's ServeMux ("/v1/suppressions/{address}") and its handler,
// authentication included.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Pattern is the route's ServeMux pattern, "METHOD PATH".
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Routes returns every route of the API, each behind authentication. It is
// the one table of the API's routes: Register serves it, and the tests
// compare it with the OpenAPI document (openapi.json).
//
//	GET    /v1/suppressions             a page of the list (limit, cursor, since)
//	GET    /v1/suppressions.csv         the whole list as CSV
//	GET    /v1/suppressions/{address}   one suppression, 404 when none
//	POST   /v1/suppressions/check       bulk check {"addresses": [...]}
//	POST   /v1/suppressions             suppress by hand {"address", "reason", "note"}
//	DELETE /v1/suppressions/{address}   lift, with a reason (query or body)
//	GET    /v1/suppressions/held        a page of the suppressions held by the brake
//	POST   /v1/suppressions/held/release   put held ones in force {"addresses": [...]} or {"all": true}
//	POST   /v1/suppressions/held/discard   drop held ones, the same way
//	POST   /v1/return-paths             sign envelope senders {"mailbox", "addresses": [...], "verp"}
//	GET    /v1/openapi.json             the OpenAPI 3.1 description of these routes
//	GET    /metrics                     Prometheus text format or OpenMetrics
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/v1/suppressions", a.auth(a.list)},
		{"GET", "/v1/suppressions.csv", a.auth(a.exportCSV)},
		{"GET", "/v1/suppressions/{address}", a.auth(a.get)},
		{"POST", "/v1/suppressions/check", a.auth(a.check)},
		{"POST", "/v1/suppressions", a.auth(a.add)},
		{"DELETE", "/v1/suppressions/{address}", a.auth(a.lift)},
		{"GET", "/v1/suppressions/held", a.auth(a.listHeld)},
		{"POST", "/v1/suppressions/held/release", a.auth(a.releaseHeld)},
		{"POST", "/v1/suppressions/held/discard", a.auth(a.discardHeld)},
		{"POST", "/v1/return-paths", a.auth(a.signReturnPaths)},
		{"GET", "/v1/openapi.json", a.auth(serveOpenAPI)},
		{"GET", "/metrics", a.auth(a.metrics)},
	}
}

// Mux is where Register adds the routes; *http.ServeMux is one. Handler
// finds the route of a request, as http.ServeMux.Handler does.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// Register adds the API's routes (Routes) to mux.
//
// Everything else under /v1/ and at /metrics is answered after
// authentication, as JSON: 405 with an Allow header for a path served with
// another method, 404 otherwise. Unauthenticated clients learn nothing
// about the routes. Routes added to mux under /v1/ later are covered too.
func (a *API) Register(mux Mux) {
	for _, rt := range a.Routes() {
		mux.Handle(rt.Pattern(), rt.Handler)
	}
	fallback := a.auth(a.unrouted(mux))
	mux.Handle("/v1/", fallback)
	mux.Handle("/metrics", fallback)
}

// probeMethods are the methods unrouted tries to find what a path allows.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete}

// unrouted answers an authenticated request that no route of mux takes:
// 405 with the methods the path allows, or 404.
func (a *API) unrouted(mux Mux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, own := mux.Handler(r)
		var allow []string
		for _, m := range probeMethods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != own {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")))
	}
}

// Authorized reports whether r carries one of the API's bearer tokens. The
// comparison takes the same time for every configured token, whatever the
// given one is. Health checks use it to show details only to API clients.
func (a *API) Authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	given := sha256.Sum256([]byte(token))
	match := 0
	for _, t := range *a.tokens.Load() {
		match |= subtle.ConstantTimeCompare(given[:], t[:])
	}
	return match == 1
}

// auth lets a request through when it carries one of the tokens as
// "Authorization: Bearer TOKEN" (Authorized).
func (a *API) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Authorized(r) {
			next(w, r)
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			a.log.Info("refused API request without a bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bounced"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer TOKEN")
			return
		}
		a.log.Warn("refused API request with a wrong bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="bounced", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid bearer token")
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
