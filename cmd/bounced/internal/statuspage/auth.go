package statuspage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/config"
)

// Cookies of the status page.
const (
	sessionCookie = "bounced_session"
	signinCookie  = "bounced_signin" // binds the sign-in form's CSRF token
	langCookie    = "bounced_lang"
)

// signinFormTTL bounds how long a sign-in form may be filled in.
const signinFormTTL = 30 * time.Minute

// session is a signed-in browser: a random ID (which CSRF tokens are bound
// to) and an expiry.
type session struct {
	id      string
	expires time.Time
}

// SetTokens replaces the API tokens that sign in, for rotation without a
// restart (bounced run does it on SIGHUP). Sessions signed in with a token
// that is no longer accepted end with it. It refuses an empty list and
// keeps the tokens it had.
func (p *Page) SetTokens(tokens []config.Secret) error {
	if len(tokens) == 0 {
		return errors.New("status page: no API token configured")
	}
	hashed := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		hashed[i] = sha256.Sum256([]byte(t.Reveal()))
	}
	p.tokens.Store(&hashed)
	return nil
}

// tokenHash returns the hash of the accepted token equal to given, and
// whether there is one. Every token is compared, in constant time.
func (p *Page) tokenHash(given string) ([sha256.Size]byte, bool) {
	g := sha256.Sum256([]byte(given))
	var found [sha256.Size]byte
	match := 0
	for _, t := range *p.tokens.Load() {
		eq := subtle.ConstantTimeCompare(g[:], t[:])
		match |= eq
		subtle.ConstantTimeCopy(eq, found[:], t[:])
	}
	return found, match == 1
}

// mac returns HMAC-SHA256 under the page's key of the parts, joined by a
// separator no part contains.
func (p *Page) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, p.key)
	for i, s := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// newSessionCookie returns the cookie of a new session signed in with the
// token whose hash is tokenHash: "ID.EXPIRY.MAC", where the MAC covers the
// ID, the expiry and the token, so a session ends when its token is
// removed.
func (p *Page) newSessionCookie(r *http.Request, tokenHash [sha256.Size]byte) *http.Cookie {
	id := randomHex(16)
	expires := p.now().Add(p.ttl).Truncate(time.Second)
	exp := strconv.FormatInt(expires.Unix(), 10)
	sig := p.mac("session", id, exp, string(tokenHash[:]))
	return p.cookie(r, sessionCookie, id+"."+exp+"."+base64.RawURLEncoding.EncodeToString(sig), expires)
}

// sessionOf returns the request's session, and whether it has a valid one.
func (p *Page) sessionOf(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	id, rest, ok1 := strings.Cut(c.Value, ".")
	exp, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(id) != 32 {
		return session{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return session{}, false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return session{}, false
	}
	expires := time.Unix(unix, 0)
	if !p.now().Before(expires) {
		return session{}, false
	}
	match := 0
	for _, t := range *p.tokens.Load() {
		match |= subtle.ConstantTimeCompare(sig, p.mac("session", id, exp, string(t[:])))
	}
	if match != 1 {
		return session{}, false
	}
	return session{id: id, expires: expires}, true
}

// csrfToken returns the CSRF token of forms posted in session s.
func (p *Page) csrfToken(s session) string {
	return base64.RawURLEncoding.EncodeToString(p.mac("csrf", s.id))
}

// validCSRF reports whether the form's csrf field is the session's token.
func (p *Page) validCSRF(r *http.Request, s session) bool {
	given := r.PostFormValue("csrf")
	return given != "" && hmac.Equal([]byte(given), []byte(p.csrfToken(s)))
}

// signinToken returns the CSRF token of the sign-in form bound to the
// nonce of the sign-in cookie.
func (p *Page) signinToken(nonce string) string {
	return base64.RawURLEncoding.EncodeToString(p.mac("signin", nonce))
}

// bearer reports whether the request carries one of the tokens as
// "Authorization: Bearer TOKEN" (scripts and monitoring).
func (p *Page) bearer(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	_, ok = p.tokenHash(token)
	return ok
}

// cookie returns an HttpOnly, SameSite=Strict cookie for the whole page,
// Secure when the request came over TLS (directly or, by the proxy's
// word, X-Forwarded-Proto: https) or Options.SecureCookies says so. A zero
// expires makes a cookie for the browser session; a past one deletes it.
func (p *Page) cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: p.secure || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	}
	if !expires.IsZero() {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(p.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// safeNext returns next when it is a path on this site, else "/": a
// sign-in must not send the browser elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
