package statuspage_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/statuspage"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

const testToken = "status-token-0123456789abcdef"

// newStore returns a migrated store on a fresh database, with the reason
// texts of `bounced explain` stored as `bounced migrate` stores them.
func newStore(tb testing.TB) *store.Store {
	tb.Helper()
	url := storetest.NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatalf("opening the store: %v", err)
	}
	tb.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	var texts []store.ReasonText
	for _, r := range dsn.Reasons() {
		for _, lang := range statuspage.Languages {
			ex, err := dsn.Explain(r, lang)
			if err != nil {
				tb.Fatalf("explaining %s in %s: %v", r, lang, err)
			}
			texts = append(texts, store.ReasonText{Reason: string(r), Lang: lang, Meaning: ex.Meaning, Why: ex.Why, Fix: ex.Fix})
		}
	}
	if err := st.SyncReasonTexts(ctx, texts); err != nil {
		tb.Fatalf("storing reason texts: %v", err)
	}
	return st
}

// fixedStatuses is the scheduler's part: two mailboxes, one failing.
type fixedStatuses []imapwatch.Status

func (f fixedStatuses) Statuses() []imapwatch.Status { return f }

// newPage returns the status page on st with testToken.
func newPage(tb testing.TB, st statuspage.Store, now func() time.Time) *statuspage.Page {
	tb.Helper()
	p, err := statuspage.New(statuspage.Options{
		Store: st, Tokens: []config.Secret{config.NewSecret(testToken)}, Now: now,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Status: fixedStatuses{
			{Mailbox: "bounces", LastSuccess: time.Now().Add(-time.Minute),
				Backlog: imapwatch.Backlog{InFolder: 12345, Waiting: 12000, Left: 9876, Counted: time.Now().Add(-2 * time.Minute)}},
			{Mailbox: "support", LastError: "logging in: NO [AUTHENTICATIONFAILED] <b>bad</b>", LastErrorAt: time.Now()},
		},
	})
	if err != nil {
		tb.Fatalf("new status page: %v", err)
	}
	return p
}

// newServer serves the page on a test server.
func newServer(tb testing.TB, p *statuspage.Page) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func browser(tb testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs c in through the form and returns the session's CSRF token
// (read from the overview's sign-out form).
func signIn(tb testing.TB, c *http.Client, base string) string {
	tb.Helper()
	body := get(tb, c, base+"/signin", http.StatusOK)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("sign-in form without a CSRF token:\n%s", body)
	}
	res := post(tb, c, base+"/signin", url.Values{"csrf": {m[1]}, "token": {testToken}, "next": {"/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		tb.Fatalf("sign-in: %s, Location %q", res.Status, res.Header.Get("Location"))
	}
	page := get(tb, c, base+"/", http.StatusOK)
	m = csrfField.FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("signed-in page without a CSRF token:\n%s", page)
	}
	return m[1]
}

func get(tb testing.TB, c *http.Client, u string, want int) string {
	tb.Helper()
	res, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	if _, err := fmt.Fprint(&b, readAll(tb, res)); err != nil {
		tb.Fatal(err)
	}
	if res.StatusCode != want {
		tb.Fatalf("GET %s: %s, want %d:\n%s", u, res.Status, want, b.String())
	}
	return b.String()
}

func post(tb testing.TB, c *http.Client, u string, form url.Values) *http.Response {
	tb.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		tb.Fatalf("POST %s: %v", u, err)
	}
	readAll(tb, res)
	res.Body.Close()
	return res
}

func readAll(tb testing.TB, res *http.Response) string {
	tb.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// weighted returns each item repeated by its weight, for picking at random
// in SQL with a realistic mix.
func weighted(items map[string]int) []string {
	var out []string
	for item, w := range items {
		for range w {
			out = append(out, item)
		}
	}
	return out
}

// seedReasons is the mix of reasons of the seeded events: mostly unknown
// users and full mailboxes, a good share of transient failures, and the
// sender-side failures an operator must fix.
var seedReasons = weighted(map[string]int{
	"user_unknown": 30, "mailbox_disabled": 4, "host_unknown": 5, "bad_recipient_syntax": 1, "mailbox_full": 12,
	"complaint": 2, "auth_failure": 6, "blocklisted": 4, "spam_content": 2, "policy_rejected": 1, "rate_limited": 4,
	"greylisted": 8, "server_error": 4, "network_error": 3, "expired": 2, "delayed": 8, "auto_reply": 3, "unknown": 1,
})

// seedDomains are the recipient domains, the big ones more often.
var seedDomains = weighted(map[string]int{
	"gmail.com": 30, "yahoo.com": 12, "outlook.com": 12, "hotmail.com": 6, "gmx.de": 8, "web.de": 8,
	"t-online.de": 6, "icloud.com": 5, "aol.com": 3, "orange.fr": 2, "libero.it": 2, "mail.ru": 2,
	"example.org": 1, "example.net": 1, "posteo.de": 1, "freenet.de": 1,
})

// seed writes n bounce events spread over the last 30 days (one ledger
// message each, in two mailboxes), in one INSERT ... SELECT each, and
// suppresses the addresses of the hard bounces. Some diagnostics and one
// address carry markup that must stay text.
func seed(tb testing.TB, st *store.Store, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pool := st.Pool()
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"ledger", `
			INSERT INTO processed_messages (mailbox, uidvalidity, uid, content_hash, size, received_at, kind, outcome, processed_at)
			SELECT CASE WHEN g % 4 = 0 THEN 'support' ELSE 'bounces' END, 1, g, sha256(int8send(g)), 4096, t, 'dsn',
				CASE WHEN g % 97 = 0 THEN 'unrecognized' WHEN g % 1009 = 0 THEN 'failed' ELSE 'processed' END, t
			FROM (SELECT g, now() - random() * interval '29 days 20 hours' AS t FROM generate_series(1, $1::int) AS g) AS s`,
			[]any{n}},
		{"checkpoints", `
			INSERT INTO mailboxes (mailbox, uidvalidity, last_uid, updated_at)
			SELECT mailbox, 1, max(uid), max(processed_at) FROM processed_messages GROUP BY 1`, nil},
		{"events", `
			INSERT INTO bounce_events (message_ref, occurred_at, recorded_at, kind, recipient, recipient_domain, status,
				status_inferred, smtp_code, action, reason, scope, permanent, verdict, diagnostic, remote_mta,
				reporting_mta, feedback_type, original_message_id, original_from, sending_domain)
			SELECT s.id, s.processed_at, s.processed_at, 'dsn', 'user' || (s.id % $3::int) || '@' || s.domain, s.domain,
				CASE WHEN r.permanent THEN '5.0.0' ELSE '4.0.0' END, true, CASE WHEN r.permanent THEN 550 ELSE 450 END,
				'failed', r.reason, r.scope, r.permanent,
				CASE WHEN r.reason = 'complaint' OR (r.scope = 'recipient' AND r.permanent) THEN 'suppress'
				     WHEN r.scope = 'sender' THEN 'alert'
				     WHEN r.scope = 'transient' OR r.reason = 'mailbox_full' THEN 'soft'
				     ELSE 'ignore' END,
				CASE WHEN s.id % 10 = 0 THEN '550 5.1.1 <script>console.error("xss from a bounce")</script> no such user'
				     ELSE '550 5.1.1 recipient rejected' END,
				'mx.' || s.domain, 'mta' || (s.id % 3) || '.' || s.domain, '', '', 'news@shop.example', 'shop.example'
			FROM (SELECT id, processed_at,
					($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] AS reason,
					($2::text[])[1 + floor(random() * cardinality($2::text[]))::int] AS domain
				FROM processed_messages WHERE outcome = 'processed') AS s
			JOIN reasons AS r ON r.reason = s.reason`,
			[]any{seedReasons, seedDomains, max(n/3, 1)}},
		{"reputation", `
			INSERT INTO reputation_daily (day, recipient_domain, sending_domain, reporting_mta, reason, incidents, first_seen, last_seen)
			SELECT (occurred_at AT TIME ZONE 'UTC')::date, recipient_domain, sending_domain, lower(reporting_mta), reason,
				count(*), min(occurred_at), max(occurred_at)
			FROM bounce_events WHERE verdict = 'alert' GROUP BY 1, 2, 3, 4, 5`, nil},
		{"suppressions", `
			INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count, active_since,
				updated_at, evidence_status, evidence_diagnostic)
			SELECT DISTINCT ON (lower(recipient)) recipient, reason, scope, occurred_at, occurred_at, 1, occurred_at,
				occurred_at, status, diagnostic
			FROM bounce_events WHERE verdict = 'suppress'
			ORDER BY lower(recipient), occurred_at`, nil},
		{"hostile suppression", `
			INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count, active_since,
				updated_at, evidence_status, evidence_diagnostic)
			VALUES ('"<script>console.error(1)</script>"@aaa.example', 'user_unknown', 'recipient', now(), now(), 1,
				now(), now(), '5.1.1', '550 <img src=x onerror=console.error(2)> unknown')`, nil},
		{"lifts", `
			INSERT INTO suppression_audit (address, action, actor, note, reason, at)
			SELECT address, 'lift', 'seed', 'test lift', reason, now() - interval '1 day'
			FROM suppressions ORDER BY id LIMIT 25`, nil},
		{"vacuum", `VACUUM ANALYZE`, nil}, // as autovacuum would have by now
	}
	for _, s := range steps {
		if _, err := pool.Exec(ctx, s.sql, s.args...); err != nil {
			tb.Fatalf("seeding the %s: %v", s.what, err)
		}
	}
}
