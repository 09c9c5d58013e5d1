package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/imapwatch"
)

// fixedStatuses is a status source with fixed answers.
type fixedStatuses []imapwatch.Status

func (f fixedStatuses) Statuses() []imapwatch.Status { return f }

// TestReadyzHidesDetails: /readyz without the token says ready or not and,
// per mailbox, ok or failing; the error text (host, user) and times need
// the token and verbose=1.
func TestReadyzHidesDetails(t *testing.T) {
	secretErr := "connecting to imap.internal.example:993 as bounces@corp.example: authentication refused"
	st := fixedStatuses{
		{Mailbox: "rig", LastSuccess: time.Now(), LastError: secretErr, LastErrorAt: time.Now()},
		{Mailbox: "other", LastSuccess: time.Now()},
	}
	authorized := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer right" }
	srv := httptest.NewServer(healthHandler(st, authorized))
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	want := `{"ready":false,"mailboxes":[{"mailbox":"rig","state":"failing"},{"mailbox":"other","state":"ok"}]}`
	for _, token := range []string{"", "right", "wrong"} {
		if code, body := get("/readyz", token); code != 503 || body != want {
			t.Errorf("/readyz (token %q) = %d %s, want 503 %s", token, code, body, want)
		}
	}
	for _, token := range []string{"", "wrong"} {
		if code, body := get("/readyz?verbose=1", token); code != 401 || strings.Contains(body, "imap.internal") {
			t.Errorf("/readyz?verbose=1 (token %q) = %d %s, want 401 without details", token, code, body)
		}
	}
	if code, body := get("/readyz?verbose=1", "right"); code != 503 || !strings.Contains(body, secretErr) || !strings.Contains(body, "last_success") {
		t.Errorf("/readyz?verbose=1 with the token = %d %s, want the details", code, body)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok" {
		t.Errorf("/healthz = %d %s", code, body)
	}
}
