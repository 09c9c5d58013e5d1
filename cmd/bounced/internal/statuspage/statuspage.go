// Package statuspage serves the status page of `bounced run`: HTML pages for
// operators who would rather look than write SQL. Bounces by reason over
// time, sender-side incidents with their fix, the worst recipient domains,
// the suppression list (searched, lifted, downloaded) and the mailboxes, in
// English and German.
//
// Every page needs a session, got by signing in with an API token in a
// form, or the API's "Authorization: Bearer TOKEN" header. Sessions live
// in a signed, expiring, HttpOnly, SameSite=Strict cookie; forms carry a
// CSRF token bound to the session. Pages are html/template with embedded
// assets, work without JavaScript, and load nothing from elsewhere (the
// Content-Security-Policy says so).
package statuspage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// Settings of the pages.
const (
	// Days is the period of the overview's chart and of the domain page.
	Days = 30
	// PageSize is the number of suppressions per page.
	PageSize = 50
	// MaxIncidents bounds the rows of the incident page.
	MaxIncidents = 100
	// MaxDomains bounds each table of the domain page.
	MaxDomains = 20
	// DefaultSessionTTL is how long a sign-in lasts unless
	// Options.SessionTTL says otherwise.
	DefaultSessionTTL = 12 * time.Hour
	// DefaultDBTimeout bounds each page's database work unless
	// Options.DBTimeout says otherwise.
	DefaultDBTimeout = 10 * time.Second
	// ExportTimeout bounds the CSV download, which reads the whole list.
	ExportTimeout = 10 * time.Minute
	// CountsMaxAge is how old the overview's suppression counts may be:
	// counting a list of hundreds of thousands takes longer than a page
	// should, so the count is kept this long.
	CountsMaxAge = time.Minute
)

// Actor is who the audit names for lifts made on the status page.
const Actor = "status page"

// Store is what the pages read and change. *store.Store implements it.
type Store interface {
	export.Lister
	DailyBounces(ctx context.Context, days int) ([]store.DayReasonCount, error)
	VerdictTotals(ctx context.Context, days int) (map[string]int64, error)
	SuppressionActivity(ctx context.Context, since time.Time) (store.SuppressionActivity, error)
	SenderIncidents(ctx context.Context, limit int) ([]store.SenderIncident, error)
	Reasons(ctx context.Context, lang string) ([]store.ReasonInfo, error)
	WorstDomains(ctx context.Context, days, limit int, hard bool) ([]store.DomainBounces, error)
	SearchSuppressions(ctx context.Context, query, after string, limit int) ([]store.Suppression, error)
	LiftSuppression(ctx context.Context, address, actor, why string) (store.Suppression, error)
	MailboxActivity(ctx context.Context) ([]store.MailboxActivity, error)
}

// StatusSource reports the state of every mailbox this process works.
// *imapwatch.Scheduler implements it.
type StatusSource interface {
	Statuses() []imapwatch.Status
}

// Options configures a Page. Store and Tokens are required.
type Options struct {
	Store Store
	// Status reports the mailboxes' passes; nil shows only what the
	// database knows.
	Status StatusSource
	// Tokens are the API tokens that sign in; any one of them will do.
	Tokens []config.Secret
	// Logger receives errors, sign-ins and lifts; nil discards them.
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// SecureCookies marks every cookie Secure even on plain HTTP (behind
	// a TLS-terminating proxy that does not send X-Forwarded-Proto).
	SecureCookies bool
	// DBTimeout bounds the database work of one page; 0 means
	// DefaultDBTimeout.
	DBTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Page is the status page. Register it on a mux.
type Page struct {
	store     Store
	status    StatusSource
	log       *slog.Logger
	tokens    atomic.Pointer[[][sha256.Size]byte]
	key       []byte // signs sessions and CSRF tokens; new each start
	ttl       time.Duration
	secure    bool
	dbTimeout time.Duration
	now       func() time.Time
	tmpl      map[string]*template.Template

	countsMu sync.Mutex // held while counting, so one request counts at a time
	counts   store.SuppressionActivity
	countsAt time.Time // when counts was read; zero: never
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the status page. It returns an error when no token is
// given: no page is ever served without authentication. Sessions are
// signed with a key made at start, so a restart signs everyone out.
func New(opts Options) (*Page, error) {
	if opts.Store == nil {
		return nil, errors.New("status page: a store is required")
	}
	p := &Page{store: opts.Store, status: opts.Status, log: opts.Logger, ttl: opts.SessionTTL,
		secure: opts.SecureCookies, dbTimeout: opts.DBTimeout, now: opts.Now}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.ttl <= 0 {
		p.ttl = DefaultSessionTTL
	}
	if p.dbTimeout <= 0 {
		p.dbTimeout = DefaultDBTimeout
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.key = make([]byte, 32)
	_, _ = rand.Read(p.key) // crypto/rand.Read never fails (Go 1.24+)
	if err := p.SetTokens(opts.Tokens); err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	p.tmpl = tmpl
	return p, nil
}

// parseTemplates parses each page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("status page: listing templates: %w", err)
	}
	out := make(map[string]*template.Template)
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("status page: parsing %s: %w", name, err)
		}
		out[base] = t
	}
	return out, nil
}

// Register adds the pages to mux:
//
//	GET  /                    overview
//	GET  /incidents           sender-side incidents with their fix
//	GET  /domains             the worst recipient domains
//	GET  /suppressions        the suppression list (q, after)
//	POST /suppressions/lift   lift one (address, why, csrf)
//	GET  /suppressions.csv    the whole list as CSV
//	GET  /mailboxes           the mailboxes
//	GET  /signin, POST /signin, POST /signout
//	GET  /lang?to=de&next=/   the language switch
//	GET  /static/...          the style sheet
func (p *Page) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", p.auth(p.overview))
	mux.Handle("GET /incidents", p.auth(p.incidents))
	mux.Handle("GET /domains", p.auth(p.domains))
	mux.Handle("GET /suppressions", p.auth(p.suppressions))
	mux.Handle("POST /suppressions/lift", p.auth(p.lift))
	mux.Handle("GET /suppressions.csv", p.auth(p.exportCSV))
	mux.Handle("GET /mailboxes", p.auth(p.mailboxes))
	mux.HandleFunc("GET /signin", p.signinForm)
	mux.HandleFunc("POST /signin", p.signin)
	mux.Handle("POST /signout", p.auth(p.signout))
	mux.HandleFunc("GET /lang", p.switchLanguage)
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
}

// request is what a handler knows of the signed-in request.
type request struct {
	session session // zero for a bearer request
	bearer  bool
	l       L
}

// auth lets a request through with a valid session cookie or bearer
// token; otherwise a GET is redirected to the sign-in form (coming back
// afterwards) and anything else is refused with 401. A POST from a session
// must carry the session's CSRF token.
func (p *Page) auth(next func(http.ResponseWriter, *http.Request, request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		req := request{l: L{Lang: chooseLanguage(r)}}
		if s, ok := p.sessionOf(r); ok {
			req.session = s
		} else if p.bearer(r) {
			req.bearer = true
		} else {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.log.Info("status page: refused a request without a session", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !req.bearer {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !p.validCSRF(r, req.session) {
				p.log.Warn("status page: refused a form without a valid CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
				p.renderError(w, req, http.StatusForbidden, "error.csrf")
				return
			}
		}
		next(w, r, req)
	})
}

// setSecurityHeaders forbids everything the pages do not need: no script,
// nothing from elsewhere, no framing, no caching of lists of addresses.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// staticHandler serves the embedded assets with the security headers and
// a day of caching.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	L      L
	Page   string // the nav entry to mark
	Path   string // the request's path and query, for the language switch
	CSRF   string // "" for bearer requests, which post without
	Signed bool   // a session (not bearer): show sign-out
	Data   any
}

// render executes the page's template into a buffer, so an error cannot
// leave half a page, and writes it.
func (p *Page) render(w http.ResponseWriter, r *http.Request, req request, status int, page string, data any) {
	v := view{L: req.l, Page: page, Path: r.URL.RequestURI(), Data: data, Signed: !req.bearer && req.session.id != ""}
	if v.Signed {
		v.CSRF = p.csrfToken(req.session)
	}
	var buf bytes.Buffer
	if err := p.tmpl[page].Execute(&buf, v); err != nil {
		p.log.Error("status page: rendering", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", req.l.Lang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a failed write: the client went away
}

// renderError shows a message page.
func (p *Page) renderError(w http.ResponseWriter, req request, status int, key string) {
	var buf bytes.Buffer
	if err := p.tmpl["error"].Execute(&buf, view{L: req.l, Page: "error", Path: "/", Data: req.l.T(key)}); err != nil {
		http.Error(w, req.l.T(key), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers a request whose store call returned err: 503 when the
// database is unavailable, else 500; err is logged, not shown.
func (p *Page) fail(w http.ResponseWriter, r *http.Request, req request, err error) {
	if unavailable(err) {
		p.log.Warn("status page: database unavailable", "path", r.URL.Path, "err", err)
		p.renderError(w, req, http.StatusServiceUnavailable, "error.db")
		return
	}
	p.log.Error("status page: request failed", "path", r.URL.Path, "err", err)
	p.renderError(w, req, http.StatusInternalServerError, "error.internal")
}

// unavailable reports whether err says the database could not be reached
// or did not answer in time.
func unavailable(err error) bool {
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF)
}

// suppressionActivity returns the counts of the suppression list, read
// again when older than CountsMaxAge.
func (p *Page) suppressionActivity(ctx context.Context) (store.SuppressionActivity, error) {
	p.countsMu.Lock()
	defer p.countsMu.Unlock()
	now := p.now()
	if !p.countsAt.IsZero() && now.Sub(p.countsAt) < CountsMaxAge {
		return p.counts, nil
	}
	a, err := p.store.SuppressionActivity(ctx, now.AddDate(0, 0, -Days))
	if err != nil {
		return store.SuppressionActivity{}, err
	}
	p.counts, p.countsAt = a, now
	return a, nil
}

// dbContext returns the request's context bounded by the database timeout.
func (p *Page) dbContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), p.dbTimeout)
}
