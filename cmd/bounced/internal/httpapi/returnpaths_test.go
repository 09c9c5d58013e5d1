package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/returnpath"
)

// serveSigners starts an API whose mailboxes named in names have a
// return-path key each.
func (f *fixture) serveSigners(names ...string) (*httptest.Server, map[string]*returnpath.Scheme) {
	f.t.Helper()
	signers := map[string]*returnpath.Scheme{}
	for _, n := range names {
		signers[n] = testSigner(f.t, n)
	}
	api, err := httpapi.New(httpapi.Options{
		Store: f.store, Status: f.status, Tokens: []config.Secret{config.NewSecret(tokenNew)},
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)), ReturnPaths: signers,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	return srv, signers
}

type signAnswer struct {
	Mailbox     string `json:"mailbox"`
	ReturnPaths []struct {
		Address    string `json:"address"`
		ReturnPath string `json:"return_path"`
		Error      string `json:"error"`
	} `json:"return_paths"`
}

func TestSignReturnPaths(t *testing.T) {
	f := newFixture(t)
	srv, signers := f.serveSigners("bounces")
	now := time.Now()

	res := do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(`{"addresses": ["alice@customer.example", "not an address", "Bob@Example.net"]}`))
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var ans signAnswer
	res.decode(t, &ans)
	if ans.Mailbox != "bounces" || len(ans.ReturnPaths) != 3 {
		t.Fatalf("answer %s", res.body)
	}
	for _, i := range []int{0, 2} {
		rp := ans.ReturnPaths[i]
		if err := signers["bounces"].Verify(rp.ReturnPath, rp.Address, now); err != nil || rp.Error != "" {
			t.Errorf("%s: %q does not verify: %v %q", rp.Address, rp.ReturnPath, err, rp.Error)
		}
	}
	if rp := ans.ReturnPaths[1]; rp.ReturnPath != "" || !strings.Contains(rp.Error, "not local@domain") {
		t.Errorf("a bad address: %+v", rp)
	}

	res = do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(`{"mailbox": "bounces", "verp": true, "addresses": ["alice@customer.example"]}`))
	res.decode(t, &ans)
	if a, err := returnpath.Parse(ans.ReturnPaths[0].ReturnPath); err != nil || a.Recipient != "alice@customer.example" {
		t.Errorf("verp: %s (%v)", res.body, err)
	}

	// 10,000 addresses are signed; one more is refused.
	var b strings.Builder
	b.WriteString(`{"addresses": [`)
	for i := range httpapi.MaxSignAddresses {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"a-rather-long-recipient-name-number-%05d@subdomain.customer.example"`, i)
	}
	full := b.String() + "]}"
	res = do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(full))
	res.decode(t, &ans)
	if res.status != http.StatusOK || len(ans.ReturnPaths) != httpapi.MaxSignAddresses || ans.ReturnPaths[9999].ReturnPath == "" {
		t.Errorf("10,000 addresses: status %d, %d answers", res.status, len(ans.ReturnPaths))
	}
	res = do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(b.String()+`,"x@y.example"]}`))
	if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.errorText(t), "at most 10000") {
		t.Errorf("10,001 addresses: status %d, %s", res.status, res.body)
	}
	res = do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(`{"addresses": ["`+strings.Repeat("a", 4<<20)+`"]}`))
	if res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a huge body: status %d", res.status)
	}

	for _, c := range []struct {
		body   string
		status int
		say    string
	}{
		{`{}`, 400, "addresses is required"},
		{`{"addresses": "a@b.example"}`, 400, "not valid JSON"},
		{`{"addresses": [], "key": "x"}`, 400, "unknown field"},
		{`{"mailbox": "other", "addresses": []}`, 404, `mailbox "other" has no return-path key`},
	} {
		res := do(t, srv, tokenNew, "POST", "/v1/return-paths", strings.NewReader(c.body))
		if res.status != c.status || !strings.Contains(res.errorText(t), c.say) {
			t.Errorf("%s: status %d, %s; want %d, %q", c.body, res.status, res.body, c.status, c.say)
		}
	}
	if res := do(t, srv, "", "POST", "/v1/return-paths", strings.NewReader(`{"addresses": []}`)); res.status != http.StatusUnauthorized {
		t.Errorf("without a token: status %d", res.status)
	}

	// Two mailboxes with keys: name one. None: nothing to sign with.
	two, _ := f.serveSigners("bounces", "news")
	if res := do(t, two, tokenNew, "POST", "/v1/return-paths", strings.NewReader(`{"addresses": []}`)); res.status != 400 || !strings.Contains(res.errorText(t), "bounces, news") {
		t.Errorf("two mailboxes: status %d, %s", res.status, res.body)
	}
	none, _ := f.serveSigners()
	if res := do(t, none, tokenNew, "POST", "/v1/return-paths", strings.NewReader(`{"addresses": []}`)); res.status != 404 {
		t.Errorf("no key: status %d, %s", res.status, res.body)
	}
}
