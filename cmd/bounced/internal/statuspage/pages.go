package statuspage

import (
	"context"
	"crypto/hmac"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/store"
)

// verdictRow is one line of the overview's verdict table.
type verdictRow struct {
	Verdict, Label string
	Bounces, Total int64
}

// incidentRow is a sender-side incident with its fix in the page's language.
type incidentRow struct {
	store.SenderIncident
	Fix string
}

func (p *Page) overview(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := p.dbContext(r)
	defer cancel()
	// The queries are independent: run them at once, each on its own
	// connection, so the page waits for the slowest rather than the sum.
	var (
		daily     []store.DayReasonCount
		verdicts  map[string]int64
		activity  store.SuppressionActivity
		incidents []incidentRow
	)
	err := concurrently(
		func() (err error) { daily, err = p.store.DailyBounces(ctx, Days); return },
		func() (err error) { verdicts, err = p.store.VerdictTotals(ctx, Days); return },
		func() (err error) { activity, err = p.suppressionActivity(ctx); return },
		func() (err error) { incidents, err = p.incidentRows(ctx, req.l, 10); return },
	)
	if err != nil {
		p.fail(w, r, req, err)
		return
	}
	recent := incidents[:0:0]
	for _, in := range incidents {
		if in.Last24h > 0 {
			recent = append(recent, in)
		}
	}
	var total int64
	for _, n := range verdicts {
		total += n
	}
	var rows []verdictRow
	for _, v := range []string{"suppress", "soft", "alert", "ignore"} {
		rows = append(rows, verdictRow{Verdict: v, Label: req.l.T("verdict." + v), Bounces: verdicts[v], Total: total})
	}
	p.render(w, r, req, http.StatusOK, "overview", struct {
		Chart     chart
		Verdicts  []verdictRow
		Total     int64
		Activity  store.SuppressionActivity
		Incidents []incidentRow
		Fixes     []incidentRow
	}{buildChart(req.l, daily, p.now().UTC().Truncate(24*time.Hour), Days), rows, total, activity, recent, fixesOf(recent)})
}

// concurrently runs fns at once and, once all have returned, their errors
// joined (nil when none failed).
func concurrently(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// incidentRows reads the sender-side incidents with the fix of each in the
// page's language (English where none is stored in it).
func (p *Page) incidentRows(ctx context.Context, l L, limit int) ([]incidentRow, error) {
	incidents, err := p.store.SenderIncidents(ctx, limit)
	if err != nil {
		return nil, err
	}
	reasons, err := p.store.Reasons(ctx, l.Lang)
	if err != nil {
		return nil, err
	}
	fixes := make(map[string]string, len(reasons))
	for _, ri := range reasons {
		if ri.Text != nil {
			fixes[ri.Reason] = ri.Text.Fix
		}
	}
	rows := make([]incidentRow, len(incidents))
	for i, in := range incidents {
		rows[i] = incidentRow{SenderIncident: in, Fix: fixes[in.Reason]}
	}
	return rows, nil
}

func (p *Page) incidents(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := p.dbContext(r)
	defer cancel()
	rows, err := p.incidentRows(ctx, req.l, MaxIncidents)
	if err != nil {
		p.fail(w, r, req, err)
		return
	}
	p.render(w, r, req, http.StatusOK, "incidents", struct {
		Rows  []incidentRow
		Fixes []incidentRow
	}{rows, fixesOf(rows)})
}

// fixesOf returns the first incident of each reason in rows: each
// reason's fix is shown once, after the table, rather than in every row.
func fixesOf(rows []incidentRow) []incidentRow {
	var fixes []incidentRow
	seen := make(map[string]bool)
	for _, in := range rows {
		if !seen[in.Reason] {
			seen[in.Reason] = true
			fixes = append(fixes, in)
		}
	}
	return fixes
}

// domainRow is a recipient domain with its sparkline.
type domainRow struct {
	store.DomainBounces
	Spark sparkline
}

func (p *Page) domains(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := p.dbContext(r)
	defer cancel()
	var tables [2][]domainRow
	fetch := func(i int, hard bool) func() error {
		return func() error {
			ds, err := p.store.WorstDomains(ctx, Days, MaxDomains, hard)
			for _, d := range ds {
				tables[i] = append(tables[i], domainRow{DomainBounces: d, Spark: buildSparkline(req.l, d.Daily, 120, 24)})
			}
			return err
		}
	}
	if err := concurrently(fetch(0, true), fetch(1, false)); err != nil {
		p.fail(w, r, req, err)
		return
	}
	p.render(w, r, req, http.StatusOK, "domains", struct {
		Hard, Soft []domainRow
		Days       int
	}{tables[0], tables[1], Days})
}

func (p *Page) suppressions(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := p.dbContext(r)
	defer cancel()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after := r.URL.Query().Get("after")
	list, err := p.store.SearchSuppressions(ctx, q, after, PageSize+1)
	if err != nil {
		p.fail(w, r, req, err)
		return
	}
	next := ""
	if len(list) > PageSize {
		list = list[:PageSize]
		next = "/suppressions?" + url.Values{"q": {q}, "after": {list[PageSize-1].Address}}.Encode()
	}
	var message string
	switch {
	case r.URL.Query().Get("lifted") != "":
		message = req.l.Tf("suppr.lifted", r.URL.Query().Get("lifted"))
	case r.URL.Query().Get("notsuppressed") != "":
		message = req.l.Tf("suppr.notsuppressed", r.URL.Query().Get("notsuppressed"))
	case r.URL.Query().Get("needreason") != "":
		message = req.l.T("suppr.needreason")
	}
	p.render(w, r, req, http.StatusOK, "suppressions", struct {
		Query, After, Next, Message string
		List                        []store.Suppression
	}{q, after, next, message, list})
}

// lift lifts one suppression through the store's LiftSuppression, as the
// API does (audited, announced), and goes back to the list.
func (p *Page) lift(w http.ResponseWriter, r *http.Request, req request) {
	address := strings.TrimSpace(r.PostFormValue("address"))
	why := strings.TrimSpace(r.PostFormValue("why"))
	back := url.Values{"q": {r.PostFormValue("q")}}
	if address == "" || why == "" {
		back.Set("needreason", "1")
		http.Redirect(w, r, "/suppressions?"+back.Encode(), http.StatusSeeOther)
		return
	}
	ctx, cancel := p.dbContext(r)
	defer cancel()
	_, err := p.store.LiftSuppression(ctx, address, Actor, why)
	switch {
	case errors.Is(err, store.ErrNotSuppressed):
		back.Set("notsuppressed", address)
	case err != nil:
		p.fail(w, r, req, err)
		return
	default:
		p.log.Info("status page: suppression lifted", "address", address, "why", why, "remote", r.RemoteAddr)
		back.Set("lifted", address)
	}
	http.Redirect(w, r, "/suppressions?"+back.Encode(), http.StatusSeeOther)
}

// exportCSV sends the whole list through the export the CLI and the API
// use.
func (p *Page) exportCSV(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := context.WithTimeout(r.Context(), ExportTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="suppressions.csv"`)
	if err := export.CSV(ctx, p.store, w); err != nil {
		// The header has gone out: all that is left is to stop.
		p.log.Error("status page: CSV export failed", "err", err)
	}
}

// mailboxRow joins what this process knows of a mailbox (its passes) with
// what the database knows (its ledger).
type mailboxRow struct {
	Name                      string
	State                     string // translated
	Failing                   bool
	LastSuccess, LastErrorAt  time.Time
	LastError                 string
	Processed, Unrecognized   int64
	Failed                    int64
	LastProcessed, Checkpoint time.Time
	LastUID                   int64
}

func (p *Page) mailboxes(w http.ResponseWriter, r *http.Request, req request) {
	ctx, cancel := p.dbContext(r)
	defer cancel()
	activity, err := p.store.MailboxActivity(ctx)
	if err != nil {
		p.fail(w, r, req, err)
		return
	}
	rows := make(map[string]*mailboxRow)
	var order []string
	row := func(name string) *mailboxRow {
		if rows[name] == nil {
			rows[name] = &mailboxRow{Name: name, State: req.l.T("mailboxes.notrun")}
			order = append(order, name)
		}
		return rows[name]
	}
	if p.status != nil {
		for _, s := range p.status.Statuses() {
			m := row(s.Mailbox)
			m.LastSuccess, m.LastError, m.LastErrorAt = s.LastSuccess, s.LastError, s.LastErrorAt
			switch {
			case s.Running:
				m.State = req.l.T("mailboxes.running")
			case s.LastError != "":
				m.State, m.Failing = req.l.T("mailboxes.failing"), true
			case !s.LastSuccess.IsZero():
				m.State = req.l.T("mailboxes.ok")
			default:
				m.State = req.l.T("mailboxes.idle")
			}
		}
	}
	for _, a := range activity {
		m := row(a.Mailbox)
		m.Processed, m.Unrecognized, m.Failed = a.Outcomes["processed"], a.Outcomes["unrecognized"], a.Outcomes["failed"]
		m.LastProcessed, m.Checkpoint, m.LastUID = a.LastProcessed, a.CheckpointAt, a.LastUID
	}
	list := make([]mailboxRow, len(order))
	for i, name := range order {
		list[i] = *rows[name]
	}
	p.render(w, r, req, http.StatusOK, "mailboxes", list)
}

// signinForm shows the sign-in form with a CSRF token bound to a fresh
// cookie.
func (p *Page) signinForm(w http.ResponseWriter, r *http.Request) {
	p.showSignin(w, r, http.StatusOK, "")
}

func (p *Page) showSignin(w http.ResponseWriter, r *http.Request, status int, message string) {
	setSecurityHeaders(w)
	req := request{l: L{Lang: chooseLanguage(r)}}
	nonce := randomHex(16)
	http.SetCookie(w, p.cookie(r, signinCookie, nonce, p.now().Add(signinFormTTL)))
	next := safeNext(r.URL.Query().Get("next"))
	if r.Method == http.MethodPost {
		next = safeNext(r.PostFormValue("next"))
	}
	var buf strings.Builder
	err := p.tmpl["signin"].Execute(&buf, view{L: req.l, Page: "signin", Path: r.URL.RequestURI(), Data: struct {
		Token, Next, Message, TTL string
	}{p.signinToken(nonce), next, message, strconv.Itoa(int(p.ttl.Hours()))}})
	if err != nil {
		p.log.Error("status page: rendering the sign-in form", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// signin checks the form's CSRF token and the API token, and starts a
// session.
func (p *Page) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	l := L{Lang: chooseLanguage(r)}
	c, err := r.Cookie(signinCookie)
	given := r.PostFormValue("csrf")
	if err != nil || given == "" || !hmac.Equal([]byte(given), []byte(p.signinToken(c.Value))) {
		p.log.Warn("status page: refused a sign-in without a valid CSRF token", "remote", r.RemoteAddr)
		p.showSignin(w, r, http.StatusForbidden, l.T("signin.expired"))
		return
	}
	hash, ok := p.tokenHash(r.PostFormValue("token"))
	if !ok {
		p.log.Warn("status page: refused a sign-in with a wrong token", "remote", r.RemoteAddr)
		p.showSignin(w, r, http.StatusUnauthorized, l.T("signin.wrong"))
		return
	}
	p.log.Info("status page: signed in", "remote", r.RemoteAddr)
	http.SetCookie(w, p.newSessionCookie(r, hash))
	http.SetCookie(w, p.cookie(r, signinCookie, "", time.Unix(1, 0)))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (p *Page) signout(w http.ResponseWriter, r *http.Request, req request) {
	http.SetCookie(w, p.cookie(r, sessionCookie, "", time.Unix(1, 0)))
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// switchLanguage remembers the chosen language in a cookie and goes back.
// It needs no session: it changes nothing but the labels.
func (p *Page) switchLanguage(w http.ResponseWriter, r *http.Request) {
	if to := r.URL.Query().Get("to"); known(to) {
		http.SetCookie(w, p.cookie(r, langCookie, to, p.now().AddDate(1, 0, 0)))
	}
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}
