package statuspage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/statuspage"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// pages are the pages behind sign-in.
var pages = []string{"/", "/incidents", "/domains", "/suppressions", "/mailboxes", "/suppressions.csv"}

// TestNoSessionRedirectsToSignIn: without a session or bearer token every
// page sends the browser to the sign-in form (coming back afterwards), a
// form post is refused, and a wrong bearer token lets no one in.
func TestNoSessionRedirectsToSignIn(t *testing.T) {
	srv := newServer(t, newPage(t, newStore(t), nil))
	c := browser(t)
	for _, p := range pages {
		res, err := c.Get(srv.URL + p + "?q=x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := "/signin?next=" + url.QueryEscape(p+"?q=x")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("GET %s without a session: %s to %q, want 303 to %q", p, res.Status, res.Header.Get("Location"), want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer not-the-token")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with a wrong bearer token: %s, want a redirect to sign-in", res.Status)
	}
	if res := post(t, c, srv.URL+"/suppressions/lift", url.Values{"address": {"a@example.org"}, "why": {"x"}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST lift without a session: %s, want 401", res.Status)
	}
}

// TestSignIn signs in through the form: a wrong token and a form without
// its CSRF token are refused; the session cookie is HttpOnly,
// SameSite=Strict, expiring, and Secure behind TLS; signing out ends it;
// a bearer token is let in without a session.
func TestSignIn(t *testing.T) {
	srv := newServer(t, newPage(t, newStore(t), nil))
	c := browser(t)
	form := get(t, c, srv.URL+"/signin?next=%2Fdomains", http.StatusOK)
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", form)
	}
	if res := post(t, c, srv.URL+"/signin", url.Values{"token": {testToken}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without a CSRF token: %s, want 403", res.Status)
	}
	// Each form shows a new token (bound to a new cookie): read it again.
	m = csrfField.FindStringSubmatch(get(t, c, srv.URL+"/signin", http.StatusOK))
	if res := post(t, c, srv.URL+"/signin", url.Values{"csrf": {m[1]}, "token": {"wrong"}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token: %s, want 401", res.Status)
	}
	get(t, c, srv.URL+"/", http.StatusSeeOther)

	m = csrfField.FindStringSubmatch(get(t, c, srv.URL+"/signin", http.StatusOK))
	res := post(t, c, srv.URL+"/signin", url.Values{"csrf": {m[1]}, "token": {testToken}, "next": {"//evil.example/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Errorf("sign-in with next=//evil.example/: %s to %q, want 303 to /", res.Status, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "bounced_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after sign-in")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.MaxAge <= 0 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure on plain HTTP, expiring", session)
	}
	page := get(t, c, srv.URL+"/", http.StatusOK)
	if !strings.Contains(page, `<svg id="bounces-chart"`) && !strings.Contains(page, "No bounces in the last 30 days.") {
		t.Errorf("overview after sign-in lacks the chart:\n%s", page)
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	if res := post(t, c, srv.URL+"/signout", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %s", res.Status)
	}
	get(t, c, srv.URL+"/", http.StatusSeeOther)

	// Behind a TLS proxy the cookie is Secure.
	m = csrfField.FindStringSubmatch(get(t, c, srv.URL+"/signin", http.StatusOK))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signin", strings.NewReader(url.Values{"csrf": {m[1]}, "token": {testToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "bounced_session" && !ck.Secure {
			t.Errorf("session cookie behind TLS is not Secure: %+v", ck)
		}
	}

	// A script with the API's header needs no session.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/mailboxes", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err = browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /mailboxes with the bearer token: %s, want 200", res.Status)
	}
}

// TestSessionExpiresAndEndsWithItsToken: a session ends at its expiry, and
// when the token it signed in with is no longer accepted.
func TestSessionExpiresAndEndsWithItsToken(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p := newPage(t, newStore(t), func() time.Time { return clock() })
	srv := newServer(t, p)
	c := browser(t)
	signIn(t, c, srv.URL)
	now = now.Add(statuspage.DefaultSessionTTL + time.Second)
	get(t, c, srv.URL+"/", http.StatusSeeOther)

	now = time.Now()
	signIn(t, c, srv.URL)
	if err := p.SetTokens([]config.Secret{config.NewSecret("another-token-0123456789")}); err != nil {
		t.Fatal(err)
	}
	get(t, c, srv.URL+"/", http.StatusSeeOther)
}

// TestLiftNeedsCSRF: a lift without the session's CSRF token is refused
// and changes nothing; with it the suppression is lifted through the
// store, audited with the reason given.
func TestLiftNeedsCSRF(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	if _, err := st.AddSuppression(ctx, "jane@example.org", "user_unknown", "test", "seed"); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, newPage(t, st, nil))
	c := browser(t)
	csrf := signIn(t, c, srv.URL)
	if list := get(t, c, srv.URL+"/suppressions?q=example.org", http.StatusOK); !strings.Contains(list, `<input type="hidden" name="csrf" value="`+csrf+`"><input type="hidden" name="address" value="jane@example.org">`) {
		t.Errorf("the list offers no lift form with the session's CSRF token:\n%s", list)
	}
	for _, form := range []url.Values{
		{"address": {"jane@example.org"}, "why": {"asked us"}},
		{"address": {"jane@example.org"}, "why": {"asked us"}, "csrf": {"forged"}},
	} {
		if res := post(t, c, srv.URL+"/suppressions/lift", form); res.StatusCode != http.StatusForbidden {
			t.Errorf("lift with csrf %q: %s, want 403", form.Get("csrf"), res.Status)
		}
	}
	if found, err := st.Suppressed(ctx, []string{"jane@example.org"}); err != nil || len(found) != 1 {
		t.Fatalf("after refused lifts: %v, %v; want still suppressed", found, err)
	}
	res := post(t, c, srv.URL+"/suppressions/lift", url.Values{"address": {"jane@example.org"}, "why": {"asked us"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "lifted=jane%40example.org") {
		t.Fatalf("lift: %s to %q", res.Status, res.Header.Get("Location"))
	}
	if found, err := st.Suppressed(ctx, []string{"jane@example.org"}); err != nil || len(found) != 0 {
		t.Errorf("after the lift: %v, %v; want not suppressed", found, err)
	}
	audit, err := st.Audit(ctx, "jane@example.org")
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if last.Action != "lift" || last.Actor != statuspage.Actor || last.Note != "asked us" {
		t.Errorf("audit %+v: want a lift by %q noting the reason", last, statuspage.Actor)
	}
	page := get(t, c, srv.URL+res.Header.Get("Location"), http.StatusOK)
	if !strings.Contains(page, "Lifted the suppression of jane@example.org.") {
		t.Errorf("the list does not say what was lifted:\n%s", page)
	}
	// A lift without a reason is not made.
	if _, err := st.AddSuppression(ctx, "bob@example.org", "user_unknown", "test", "seed"); err != nil {
		t.Fatal(err)
	}
	post(t, c, srv.URL+"/suppressions/lift", url.Values{"address": {"bob@example.org"}, "why": {" "}, "csrf": {csrf}})
	if found, _ := st.Suppressed(ctx, []string{"bob@example.org"}); len(found) != 1 {
		t.Error("a lift without a reason was made")
	}
}

// hostileBounce is a DSN whose every field a receiver controls carries
// markup: the Reporting-MTA, the recipient's domain and the diagnostic.
const hostileBounce = "From: MAILER-DAEMON@mx.evil.example\r\n" +
	"To: bounces@shop.example\r\n" +
	"Subject: Undelivered Mail Returned to Sender\r\n" +
	"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <hostile-1@mx.evil.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n" +
	"\r\n" +
	"--b\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Your message could not be delivered.\r\n" +
	"--b\r\n" +
	"Content-Type: message/delivery-status\r\n" +
	"\r\n" +
	"Reporting-MTA: dns; <b>mx</b>.evil.example\r\n" +
	"\r\n" +
	"Final-Recipient: rfc822; victim@evil.example\r\n" +
	"Action: failed\r\n" +
	"Status: 5.1.1\r\n" +
	"Diagnostic-Code: smtp; 550 5.1.1 <script>alert(document.cookie)</script> user unknown\r\n" +
	"\r\n" +
	"Final-Recipient: rfc822; other@evil.example\r\n" +
	"Action: failed\r\n" +
	"Status: 5.7.26\r\n" +
	"Diagnostic-Code: smtp; 550 5.7.26 DMARC policy <script>alert(2)</script> rejected\r\n" +
	"--b--\r\n"

// TestHostileBounceStaysText records a bounce full of markup through the
// store's batch write and checks that every page shows it as text.
func TestHostileBounceStaysText(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rep, err := dsn.Parse(strings.NewReader(hostileBounce), dsn.Options{})
	if err != nil {
		t.Fatalf("parsing the hostile bounce: %v", err)
	}
	raw := []byte(hostileBounce)
	_, err = st.WriteBatch(ctx, store.Batch{Mailbox: "<i>inbox</i>", UIDValidity: 1, LastUID: 1, Messages: []store.Message{{
		UID: 1, ContentHash: sha256.Sum256(raw), Size: int64(len(raw)), ReceivedAt: time.Now(),
		Outcome: store.OutcomeProcessed, Report: rep,
	}}})
	if err != nil {
		t.Fatalf("writing the batch: %v", err)
	}
	srv := newServer(t, newPage(t, st, nil))
	c := browser(t)
	signIn(t, c, srv.URL)
	seen := make(map[string]bool)
	for _, p := range []string{"/", "/incidents", "/domains", "/suppressions", "/mailboxes"} {
		page := get(t, c, srv.URL+p, http.StatusOK)
		for _, bad := range []string{"<script", "<b>", "<i>", "<img"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q from the bounce unescaped", p, bad)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(document.cookie)&lt;/script&gt;", "&lt;b&gt;mx&lt;/b&gt;.evil.example", "&lt;i&gt;inbox&lt;/i&gt;", "&lt;b&gt;bad&lt;/b&gt;"} {
			if strings.Contains(page, want) {
				seen[want] = true
			}
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(document.cookie)&lt;/script&gt;", "&lt;b&gt;mx&lt;/b&gt;.evil.example", "&lt;i&gt;inbox&lt;/i&gt;", "&lt;b&gt;bad&lt;/b&gt;"} {
		if !seen[want] {
			t.Errorf("no page shows %s: the hostile field is missing, so its escaping is untested", want)
		}
	}
}

// TestLanguage: Accept-Language chooses, the switch overrides, and the
// page says which language it is in.
func TestLanguage(t *testing.T) {
	srv := newServer(t, newPage(t, newStore(t), nil))
	c := browser(t)
	signIn(t, c, srv.URL)
	fetch := func(acceptLanguage string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/mailboxes", nil)
		req.Header.Set("Accept-Language", acceptLanguage)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return readAll(t, res)
	}
	if page := fetch("de-DE,de;q=0.9,en;q=0.5"); !strings.Contains(page, `<html lang="de">`) || !strings.Contains(page, "Postfächer") || strings.Contains(page, ">Mailboxes<") {
		t.Errorf("Accept-Language de: page is not German:\n%s", page)
	}
	if page := fetch("fr, en;q=0.8, de;q=0.7"); !strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, ">Mailboxes<") {
		t.Errorf("Accept-Language fr, en;q=0.8: page is not English:\n%s", page)
	}
	res, err := c.Get(srv.URL + "/lang?to=de&next=%2Fmailboxes")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/mailboxes" {
		t.Errorf("switch: %s to %q", res.Status, res.Header.Get("Location"))
	}
	if page := fetch("en"); !strings.Contains(page, `<html lang="de">`) {
		t.Errorf("after the switch to German, Accept-Language en won:\n%s", page)
	}
}

// TestMessages: every label exists in every language, every reason has a
// name in every language.
func TestMessages(t *testing.T) {
	for _, lang := range statuspage.Languages {
		l := statuspage.L{Lang: lang}
		for _, r := range dsn.Reasons() {
			if l.Reason(string(r)) == string(r) {
				t.Errorf("%s: reason %s has no name", lang, r)
			}
		}
	}
	if missing := statuspage.MissingMessages(); len(missing) > 0 {
		t.Errorf("labels missing in a language: %v", missing)
	}
}

// TestFormats: numbers and dates per language.
func TestFormats(t *testing.T) {
	en, de := statuspage.L{Lang: "en"}, statuspage.L{Lang: "de"}
	day := time.Date(2026, 3, 6, 16, 5, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{en.Num(1234567), "1,234,567"}, {de.Num(1234567), "1.234.567"}, {en.Num(-1000), "-1,000"}, {de.Num(999), "999"},
		{en.Percent(1, 8), "12.5\u00a0%"}, {de.Percent(1, 8), "12,5\u00a0%"}, {en.Percent(1, 0), "–"},
		{en.Date(day), "6 Mar 2026"}, {de.Date(day), "6. März 2026"},
		{en.Time(day), "6 Mar 2026, 16:05 UTC"}, {de.Time(time.Time{}), "nie"},
		{en.Short(day), "6 Mar"}, {de.Short(day), "6.3."},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestAcceptLanguage picks by weight, then by order.
func TestAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"": "en", "de": "de", "de-AT": "de", "en-GB,de;q=0.9": "en", "fr,de;q=0.5,en;q=0.4": "de",
		"de;q=0": "en", "DE": "de", "de;q=abc": "en", "*": "en",
	} {
		if got := statuspage.FromAcceptLanguage(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}

// TestCSV: the download is the export the API serves.
func TestCSV(t *testing.T) {
	st := newStore(t)
	if _, err := st.AddSuppression(context.Background(), "jane@example.org", "user_unknown", "test", "seed"); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, newPage(t, st, nil))
	c := browser(t)
	signIn(t, c, srv.URL)
	body := get(t, c, srv.URL+"/suppressions.csv", http.StatusOK)
	if !strings.HasPrefix(body, "address,reason,scope,") || !bytes.Contains([]byte(body), []byte("example.org,user_unknown,recipient")) {
		t.Errorf("CSV download:\n%s", body)
	}
}
