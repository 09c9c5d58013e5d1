package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"github.com/bounced/bounced/dsn"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/store"
)

type listPage struct {
	Suppressions []store.Suppression `json:"suppressions"`
	NextCursor   string              `json:"next_cursor"`
}

// listAll follows next_cursor from the first page of query and returns every
// address in order, failing on a page that is not full but has a cursor.
func (f *fixture) listAll(query string, limit int) []string {
	f.t.Helper()
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			f.t.Fatal("more than 100 pages: the cursor does not advance")
		}
		q := query + "&limit=" + fmt.Sprint(limit)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		res := f.call("GET", "/v1/suppressions?"+q, nil)
		if res.status != http.StatusOK {
			f.t.Fatalf("GET /v1/suppressions?%s: %d %s", q, res.status, res.body)
		}
		var p listPage
		res.decode(f.t, &p)
		if p.Suppressions == nil {
			f.t.Fatalf("suppressions is null in %s, want an array", res.body)
		}
		for _, sp := range p.Suppressions {
			got = append(got, sp.Address)
		}
		if p.NextCursor == "" {
			return got
		}
		if len(p.Suppressions) != limit {
			f.t.Errorf("page of %d with a next_cursor, want %d", len(p.Suppressions), limit)
		}
		cursor = p.NextCursor
	}
}

func TestListPagination(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 23 {
		a := fmt.Sprintf("user%02d@example.org", i)
		if i%3 == 0 {
			a = fmt.Sprintf("User%02d@Example.ORG", i) // kept as User..@example.org
		}
		f.suppress("user_unknown", a)
		want = append(want, strings.Replace(a, "Example.ORG", "example.org", 1))
	}
	f.suppress("complaint", "lifted@example.org")
	if _, err := f.store.LiftSuppression(context.Background(), "lifted@example.org", "test", "gone"); err != nil {
		t.Fatal(err)
	}
	sort.Slice(want, func(i, j int) bool { return strings.ToLower(want[i]) < strings.ToLower(want[j]) })

	for _, limit := range []int{1, 5, 23, 24, 10000} {
		if got := f.listAll("", limit); !slices.Equal(got, want) {
			t.Errorf("limit %d: paged through\n%q\nwant\n%q", limit, got, want)
		}
	}

	// Without a limit: one page of up to 1000, every field there.
	var p listPage
	f.call("GET", "/v1/suppressions", nil).decode(t, &p)
	if len(p.Suppressions) != 23 || p.NextCursor != "" {
		t.Fatalf("default page: %d suppressions, cursor %q", len(p.Suppressions), p.NextCursor)
	}
	if sp := p.Suppressions[0]; sp.Address != "User00@example.org" || sp.Reason != "user_unknown" ||
		sp.Scope != "recipient" || !sp.Manual || sp.ExpiresAt != nil || !sp.ActiveSince.Equal(start) {
		t.Errorf("first suppression = %+v", sp)
	}

	// An empty list is an empty array, not null.
	var empty listPage
	f.call("GET", "/v1/suppressions?since=2100-01-01T00:00:00Z", nil).decode(t, &empty)
	if empty.Suppressions == nil || len(empty.Suppressions) != 0 || empty.NextCursor != "" {
		t.Errorf("empty page = %+v", empty)
	}

	for _, q := range []string{"limit=0", "limit=10001", "limit=ten", "cursor=%25%25", "since=yesterday", "since=2024-05-01"} {
		res := f.call("GET", "/v1/suppressions?"+q, nil)
		if res.status != http.StatusBadRequest {
			t.Errorf("?%s: status %d, want 400", q, res.status)
			continue
		}
		if msg := res.errorText(t); !strings.Contains(msg, strings.Split(q, "=")[0]) {
			t.Errorf("?%s: error %q does not name the parameter", q, msg)
		}
	}
}

func TestListSince(t *testing.T) {
	f := newFixture(t)
	f.suppress("user_unknown", "early1@example.org", "early2@example.org")
	f.clock.set(start.Add(time.Hour))
	f.suppress("complaint", "late1@example.org", "Late2@example.org", "late3@example.org")
	// Suppressed again later, lifted in between: active since the later time.
	if _, err := f.store.LiftSuppression(context.Background(), "early2@example.org", "test", "mistake"); err != nil {
		t.Fatal(err)
	}
	f.suppress("complaint", "early2@example.org")

	since := url.QueryEscape(start.Add(30 * time.Minute).Format(time.RFC3339))
	want := []string{"early2@example.org", "late1@example.org", "Late2@example.org", "late3@example.org"}
	for _, limit := range []int{2, 1000} {
		if got := f.listAll("since="+since, limit); !slices.Equal(got, want) {
			t.Errorf("since, limit %d: %q, want %q", limit, got, want)
		}
	}
	// A time zone offset is understood.
	if got := f.listAll("since="+url.QueryEscape("2024-05-01T14:30:00+02:00"), 1000); !slices.Equal(got, want) {
		t.Errorf("since with an offset: %q, want %q", got, want)
	}
}

func TestGetAndCheck(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "Ann@Example.org")
	f.suppress("user_unknown", "bob@example.net")

	res := f.call("GET", "/v1/suppressions/ANN@EXAMPLE.ORG", nil)
	var sp store.Suppression
	if res.status != http.StatusOK {
		t.Fatalf("GET one: %d %s", res.status, res.body)
	}
	res.decode(t, &sp)
	if sp.Address != "Ann@example.org" || sp.Reason != "complaint" {
		t.Errorf("GET one = %+v", sp)
	}
	res = f.call("GET", "/v1/suppressions/carol@example.org", nil)
	if res.status != http.StatusNotFound || !strings.Contains(res.errorText(t), "not suppressed") {
		t.Errorf("GET unknown: %d %s", res.status, res.body)
	}
	res = f.call("GET", "/v1/suppressions/not-an-address", nil)
	if res.status != http.StatusBadRequest || !strings.Contains(res.errorText(t), "not an email address") {
		t.Errorf("GET bad address: %d %s", res.status, res.body)
	}

	type result struct {
		Address    string     `json:"address"`
		Suppressed bool       `json:"suppressed"`
		Reason     string     `json:"reason"`
		ExpiresAt  *time.Time `json:"expires_at"`
	}
	var body struct {
		Results []result `json:"results"`
	}
	addrs := []string{"carol@example.org", "ann@EXAMPLE.org", "BOB@example.net", "Ann@example.org", "bob@example.net"}
	res = f.call("POST", "/v1/suppressions/check", map[string]any{"addresses": addrs})
	if res.status != http.StatusOK {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	res.decode(t, &body)
	want := []result{
		{Address: "carol@example.org"},
		{Address: "ann@EXAMPLE.org", Suppressed: true, Reason: "complaint"},
		{Address: "BOB@example.net", Suppressed: true, Reason: "user_unknown"},
		{Address: "Ann@example.org", Suppressed: true, Reason: "complaint"},
		{Address: "bob@example.net", Suppressed: true, Reason: "user_unknown"},
	}
	if fmt.Sprint(body.Results) != fmt.Sprint(want) {
		t.Errorf("check results\n%+v\nwant\n%+v", body.Results, want)
	}

	// An address that cannot be checked fails the request: never a silent
	// "not suppressed".
	res = f.call("POST", "/v1/suppressions/check", map[string]any{"addresses": []string{"ann@example.org", "nobody", "x@exa mple.org"}})
	var bad struct {
		Error   string `json:"error"`
		Invalid []struct {
			Index   int    `json:"index"`
			Address string `json:"address"`
		} `json:"invalid"`
	}
	res.decode(t, &bad)
	if res.status != http.StatusBadRequest || fmt.Sprint(bad.Invalid) != "[{1 nobody} {2 x@exa mple.org}]" ||
		strings.Contains(string(res.body), "suppressed") {
		t.Errorf("check with bad addresses: %d %s; want 400 naming indexes 1 and 2", res.status, res.body)
	}

	// One address is a bulk check of one.
	res = f.call("POST", "/v1/suppressions/check", `{"addresses": ["bob@EXAMPLE.NET"]}`)
	body.Results = nil
	res.decode(t, &body)
	if len(body.Results) != 1 || !body.Results[0].Suppressed {
		t.Errorf("check of one: %s", res.body)
	}
	res = f.call("POST", "/v1/suppressions/check", `{"addresses": []}`)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"results":[]`) {
		t.Errorf("check of none: %d %s", res.status, res.body)
	}

	tooMany := make([]string, httpapi.MaxCheckAddresses+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("u%d@x.org", i)
	}
	for _, tt := range []struct {
		body any
		want string
	}{
		{`{}`, "addresses is required"},
		{``, "empty"},
		{`{"addresses": ["a@b.org"]`, "not valid JSON"},
		{`{"adresses": ["a@b.org"]}`, `unknown field "adresses"`},
		{`{"addresses": "a@b.org"}`, "not valid JSON"},
		{`{"addresses": []} {"addresses": []}`, "unexpected data"},
		{map[string]any{"addresses": tooMany}, "at most 10000"},
	} {
		res := f.call("POST", "/v1/suppressions/check", tt.body)
		if res.status != http.StatusBadRequest {
			t.Errorf("check %.40v: status %d, want 400", tt.body, res.status)
			continue
		}
		if msg := res.errorText(t); !strings.Contains(msg, tt.want) {
			t.Errorf("check %.40v: error %q, want %q in it", tt.body, msg, tt.want)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := `{"addresses": ["` + strings.Repeat("a", httpapi.MaxBodyBytes) + `@example.org"]}`
	for _, path := range []string{"/v1/suppressions/check", "/v1/suppressions"} {
		res := f.call("POST", path, big)
		if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.errorText(t), "larger than") {
			t.Errorf("POST %s with %d bytes: %d %s", path, len(big), res.status, res.body)
		}
	}
	res := f.call("DELETE", "/v1/suppressions/a@example.org", `{"reason": "`+strings.Repeat("x", httpapi.MaxBodyBytes)+`"}`)
	if res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("DELETE with a large body: %d %s", res.status, res.body)
	}
}

func TestAddLiftAudit(t *testing.T) {
	f := newFixture(t)
	res := f.call("POST", "/v1/suppressions", map[string]string{"address": "Dan@Example.COM", "reason": "complaint", "note": "called support"})
	if res.status != http.StatusCreated {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	var sp store.Suppression
	res.decode(t, &sp)
	if sp.Address != "Dan@example.com" || sp.Reason != "complaint" || !sp.Manual {
		t.Errorf("added %+v", sp)
	}
	res = f.call("POST", "/v1/suppressions", `{"address": "eve@example.com", "reason": "user_unknown"}`)
	if res.status != http.StatusCreated {
		t.Errorf("add without a note: %d %s", res.status, res.body)
	}
	if res := f.call("GET", "/v1/suppressions/dan@example.com", nil); res.status != http.StatusOK {
		t.Errorf("GET after add: %d", res.status)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"address": "x@example.com", "reason": "bogus"}`, `unknown reason "bogus"`},
		{`{"address": "x", "reason": "complaint"}`, "not an email address"},
		{`{"address": "x@example.com"}`, "address and reason are required"},
		{`{"address": "x@example.com", "reason": "complaint", "by": "me"}`, `unknown field "by"`},
		{`[1, 2]`, "not valid JSON"},
		// A note is capped: 100 KB of it was stored whole.
		{`{"address": "x@example.com", "reason": "complaint", "note": "` + strings.Repeat("ü", store.MaxNoteLength+1) + `"}`, "note is longer than 1000 characters"},
	} {
		res := f.call("POST", "/v1/suppressions", tt.body)
		if res.status != http.StatusBadRequest || !strings.Contains(res.errorText(t), tt.want) {
			t.Errorf("add %s: %d %s, want 400 with %q", tt.body, res.status, res.body, tt.want)
		}
	}

	res = f.call("DELETE", "/v1/suppressions/dan@example.com", nil)
	if res.status != http.StatusBadRequest || !strings.Contains(res.errorText(t), "reason is required") {
		t.Errorf("DELETE without a reason: %d %s", res.status, res.body)
	}
	res = f.call("DELETE", "/v1/suppressions/dan@example.com?reason="+strings.Repeat("x", store.MaxNoteLength+1), nil)
	if res.status != http.StatusBadRequest || !strings.Contains(res.errorText(t), "longer than 1000") {
		t.Errorf("DELETE with a reason too long: %d %s", res.status, res.body)
	}
	if res := f.call("POST", "/v1/suppressions", map[string]string{"address": "max@example.com", "reason": "complaint",
		"note": strings.Repeat("ü", store.MaxNoteLength)}); res.status != http.StatusCreated {
		t.Errorf("a note of exactly %d characters: %d %s", store.MaxNoteLength, res.status, res.body)
	}
	res = f.call("DELETE", "/v1/suppressions/DAN@example.com?reason="+url.QueryEscape("opted in again"), nil)
	if res.status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", res.status, res.body)
	}
	res.decode(t, &sp)
	if sp.Address != "Dan@example.com" {
		t.Errorf("lifted %+v", sp)
	}
	res = f.call("DELETE", "/v1/suppressions/dan@example.com?reason=again", nil)
	if res.status != http.StatusNotFound || !strings.Contains(res.errorText(t), "not suppressed") {
		t.Errorf("second DELETE: %d %s", res.status, res.body)
	}
	if res := f.call("GET", "/v1/suppressions/dan@example.com", nil); res.status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d", res.status)
	}
	res = f.call("DELETE", "/v1/suppressions/eve@example.com", `{"why": "typo fixed in the CRM"}`)
	if res.status != http.StatusOK {
		t.Errorf("DELETE with a JSON body: %d %s", res.status, res.body)
	}

	audit, err := f.store.Audit(context.Background(), "dan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, a := range audit {
		got += fmt.Sprintf("%s %s %s %q;", a.Action, a.Actor, a.Reason, a.Note)
	}
	if want := `add api complaint "called support";lift api complaint "opted in again";`; got != want {
		t.Errorf("audit of dan = %s, want %s", got, want)
	}
	audit, err = f.store.Audit(context.Background(), "eve@example.com")
	if err != nil || len(audit) != 2 || audit[0].Note != "added through the API" || audit[1].Note != "typo fixed in the CRM" {
		t.Errorf("audit of eve = %+v, %v", audit, err)
	}
	if !strings.Contains(f.logs.String(), "suppression lifted through the API") {
		t.Errorf("the lift is not logged:\n%s", f.logs)
	}
}

func TestCSVExport(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "Ann@Example.org", "comma,in@example.org")
	f.suppress("user_unknown", "bob@example.net")

	res := f.call("GET", "/v1/suppressions.csv", nil)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %q", res.status, res.header.Get("Content-Type"))
	}
	var want bytes.Buffer
	if err := export.CSV(context.Background(), f.store, &want); err != nil {
		t.Fatal(err)
	}
	if string(res.body) != want.String() {
		t.Errorf("CSV over HTTP\n%s\nwant the export's\n%s", res.body, want.String())
	}
	records, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil || len(records) != 4 || !slices.Equal(records[0], export.CSVColumns) || records[1][0] != "Ann@example.org" {
		t.Errorf("CSV records %q, %v", records, err)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "ann@example.org")
	paths := []struct{ method, path, body string }{
		{"GET", "/v1/suppressions", ""},
		{"GET", "/v1/suppressions.csv", ""},
		{"GET", "/v1/suppressions/ann@example.org", ""},
		{"POST", "/v1/suppressions/check", `{"addresses": ["ann@example.org"]}`},
		{"POST", "/v1/suppressions", `{"address": "x@example.org", "reason": "complaint"}`},
		{"DELETE", "/v1/suppressions/ann@example.org?reason=x", ""},
		{"GET", "/metrics", ""},
	}
	for _, p := range paths {
		for _, header := range []string{"", "Bearer", "Bearer ", "Basic " + tokenNew, "Bearer " + tokenNew + "x", "Bearer " + tokenNew[:20], "Bearer wrong"} {
			req, _ := http.NewRequest(p.method, f.srv.URL+p.path, strings.NewReader(p.body))
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			res, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with Authorization %q: %d, WWW-Authenticate %q; want 401 and a Bearer challenge",
					p.method, p.path, header, res.StatusCode, res.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if res := f.call("GET", "/v1/suppressions/ann@example.org", nil); res.status != http.StatusOK {
		t.Errorf("still suppressed after the refused DELETEs: %d", res.status)
	}
	// Either token of a rotation works, and the scheme's case does not matter.
	for _, header := range []string{"Bearer " + tokenOld, "Bearer " + tokenNew, "bearer " + tokenOld} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/v1/suppressions", nil)
		req.Header.Set("Authorization", header)
		res, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("Authorization %q: %d, want 200", header, res.StatusCode)
		}
	}
	if logs := f.logs.String(); strings.Contains(logs, tokenNew[:10]) || strings.Contains(logs, tokenOld[:10]) || !strings.Contains(logs, "refused API request") {
		t.Errorf("logs show a token or not the refusal:\n%s", logs)
	}

	// A wrong method is 405, not a route to something else.
	for _, p := range [][2]string{{"PUT", "/v1/suppressions"}, {"POST", "/v1/suppressions.csv"}, {"GET", "/v1/suppressions/check"}, {"POST", "/metrics"}} {
		res := do(t, f.srv, tokenNew, p[0], p[1], nil)
		if p[1] == "/v1/suppressions/check" {
			// GET /v1/suppressions/check is a lookup of the address "check".
			if res.status != http.StatusBadRequest {
				t.Errorf("GET /v1/suppressions/check: %d", res.status)
			}
			continue
		}
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") == "" ||
			!strings.Contains(res.errorText(t), "not allowed") {
			t.Errorf("%s %s: %d %q %s, want 405 as JSON with Allow", p[0], p[1], res.status, res.header.Get("Allow"), res.body)
		}
		// Without a token the method is not even looked at.
		if res := do(t, f.srv, "", p[0], p[1], nil); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", p[0], p[1], res.status)
		}
	}
	if res := do(t, f.srv, tokenNew, "PUT", "/v1/suppressions/a@example.org", nil); res.header.Get("Allow") != "GET, HEAD, DELETE" {
		t.Errorf("PUT one suppression: Allow %q, want GET, HEAD, DELETE", res.header.Get("Allow"))
	}
	if res := do(t, f.srv, tokenNew, "GET", "/v1/nothing", nil); res.status != http.StatusNotFound || !strings.Contains(res.errorText(t), "no such") {
		t.Errorf("GET /v1/nothing: %d %s, want 404 as JSON", res.status, res.body)
	}
	if res := do(t, f.srv, "", "GET", "/v1/nothing", nil); res.status != http.StatusUnauthorized {
		t.Errorf("GET /v1/nothing without a token: %d, want 401", res.status)
	}

	if _, err := httpapi.New(httpapi.Options{Store: f.store, Status: f.status}); err == nil {
		t.Error("New without tokens: no error")
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s, err := store.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := f.serve(s)
	if res := do(t, srv, tokenOld, "GET", "/v1/suppressions", nil); res.status != http.StatusOK {
		t.Fatalf("through the proxy: %d %s", res.status, res.body)
	}
	proxy.stop()
	for _, p := range [][3]string{
		{"GET", "/v1/suppressions", ""},
		{"GET", "/v1/suppressions/a@example.org", ""},
		{"POST", "/v1/suppressions/check", `{"addresses": ["a@example.org"]}`},
		{"GET", "/v1/suppressions.csv", ""},
	} {
		var body *strings.Reader
		if p[2] != "" {
			body = strings.NewReader(p[2])
		}
		var res response
		if body != nil {
			res = do(t, srv, tokenOld, p[0], p[1], body)
		} else {
			res = do(t, srv, tokenOld, p[0], p[1], nil)
		}
		if res.status != http.StatusServiceUnavailable || !strings.Contains(res.errorText(t), "database is unavailable") {
			t.Errorf("%s %s with the database gone: %d %s\n%s", p[0], p[1], res.status, res.body, f.logs)
		}
	}
}

// TestAddressFormsAllSuppressed is the end-to-end check of the one address
// normalisation: an address suppressed once answers suppressed in every
// form a campaign tool may send it, through the single and the bulk check,
// and an address that cannot be normalised is a 400.
func TestAddressFormsAllSuppressed(t *testing.T) {
	f := newFixture(t)
	for _, a := range []string{"alice@customer.example", "bob@bücher.example", "carol@xn--mnchen-3ya.de"} {
		res := f.call("POST", "/v1/suppressions", map[string]string{"address": a, "reason": "user_unknown"})
		if res.status != http.StatusCreated {
			t.Fatalf("suppressing %s: %d %s", a, res.status, res.body)
		}
	}
	forms := []string{
		" alice@customer.example", "alice@customer.example\t", "<alice@customer.example>",
		"alice@customer.example.", "ALICE@CUSTOMER.EXAMPLE", " <Alice@Customer.Example.> ",
		"bob@xn--bcher-kva.example", "BOB@XN--BCHER-KVA.EXAMPLE.", "<bob@BÜCHER.example>", "bob@bu\u0308cher.example",
		"carol@münchen.de", "carol@MÜNCHEN.DE.",
	}
	res := f.call("POST", "/v1/suppressions/check", map[string]any{"addresses": forms})
	if res.status != http.StatusOK {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	var body struct {
		Results []struct {
			Address    string `json:"address"`
			Suppressed bool   `json:"suppressed"`
		} `json:"results"`
	}
	res.decode(t, &body)
	if len(body.Results) != len(forms) {
		t.Fatalf("check answered %d results for %d addresses", len(body.Results), len(forms))
	}
	for i, r := range body.Results {
		if r.Address != forms[i] || !r.Suppressed {
			t.Errorf("check of %q = %+v, want suppressed under the address as given", forms[i], r)
		}
	}
	for _, form := range forms {
		res := f.call("GET", "/v1/suppressions/"+url.PathEscape(form), nil)
		if res.status != http.StatusOK {
			t.Errorf("GET %q: %d %s, want 200", form, res.status, res.body)
		}
	}
	for _, bad := range []string{"alice@customer..example", "alice@", "alice@xn--zz.example", "al ice@customer.example"} {
		if res := f.call("GET", "/v1/suppressions/"+url.PathEscape(bad), nil); res.status != http.StatusBadRequest {
			t.Errorf("GET %q: %d %s, want 400", bad, res.status, res.body)
		}
	}
	// A lift by another form lifts the one suppression.
	res = f.call("DELETE", "/v1/suppressions/"+url.PathEscape("<BOB@BÜCHER.EXAMPLE.>")+"?reason=test", nil)
	if res.status != http.StatusOK {
		t.Fatalf("DELETE by another form: %d %s", res.status, res.body)
	}
	if res := f.call("GET", "/v1/suppressions/bob@xn--bcher-kva.example", nil); res.status != http.StatusNotFound {
		t.Errorf("after the lift: %d %s, want 404", res.status, res.body)
	}
}

// TestCSVExportNeutralisesFormulas suppresses, through a forged bounce, an
// address and a diagnostic that a spreadsheet would run as formulas: the
// CSV export carries them as text (leading single quote), the JSON of the
// API as stored.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	f := newFixture(t)
	const diag = `=HYPERLINK("http://evil.example/","Open")`
	rep := &dsn.Report{Kind: dsn.KindDSN, Recipients: []dsn.Recipient{{
		Address: "=2+2@x.com", Action: dsn.ActionFailed, Status: "5.1.1", Diagnostic: diag,
		Classification: dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
	}}}
	_, err := f.store.WriteBatch(context.Background(), store.Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1,
		Messages: []store.Message{{UID: 1, ContentHash: sha256.Sum256([]byte("forged")), ReceivedAt: start, Outcome: store.OutcomeProcessed, Report: rep}}})
	if err != nil {
		t.Fatal(err)
	}
	f.suppress("complaint", "-minus@x.com", "+plus@x.com", "@at@x.com")

	res := f.call("GET", "/v1/suppressions.csv", nil)
	records, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV: %v\n%s", err, res.body)
	}
	col := slices.Index(export.CSVColumns, "evidence_diagnostic")
	got := map[string]string{}
	for _, r := range records[1:] {
		got[r[0]] = r[col]
	}
	for _, a := range []string{"'=2+2@x.com", "'-minus@x.com", "'+plus@x.com", "'@at@x.com"} {
		if _, ok := got[a]; !ok {
			t.Errorf("CSV has no row %q: %q", a, records)
		}
	}
	if d := got["'=2+2@x.com"]; d != "'"+diag {
		t.Errorf("evidence_diagnostic in the CSV = %q, want %q", d, "'"+diag)
	}
	for _, r := range records {
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("CSV cell %q would be a formula", c)
			}
		}
	}
	// JSON: the values as stored.
	res = f.call("GET", "/v1/suppressions/"+url.PathEscape("=2+2@x.com"), nil)
	var sp store.Suppression
	res.decode(t, &sp)
	if sp.Address != "=2+2@x.com" || !strings.Contains(sp.EvidenceDiagnostic, `=HYPERLINK(`) {
		t.Errorf("JSON = %+v, want the address and diagnostic as stored", sp)
	}
}
