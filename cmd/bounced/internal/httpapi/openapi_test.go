package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// The OpenAPI document (openapi.json) is checked three ways: it is a valid
// OpenAPI 3.1 document (kin-openapi's loader and validator, which know 3.1
// and JSON Schema 2020-12), it names exactly the routes the server
// registers, and real responses of the handlers on a real PostgreSQL
// validate against its schemas.

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document: %v", err)
	}
	return doc
}

// recordingMux records the patterns Register adds to its ServeMux.
type recordingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// unusedStore satisfies httpapi.Store for tests that only list routes; any
// call to it panics.
type unusedStore struct{ httpapi.Store }

// servedRoutes returns "METHOD /path" for every route Register adds, with
// ServeMux wildcards written the OpenAPI way ("{address...}" as
// "{address}", "{$}" dropped).
func servedRoutes(t *testing.T) []string {
	t.Helper()
	api, err := httpapi.New(httpapi.Options{Store: unusedStore{}, Status: &statuses{}, Tokens: []config.Secret{config.NewSecret(tokenNew)}})
	if err != nil {
		t.Fatal(err)
	}
	mux := recordingMux{ServeMux: http.NewServeMux()}
	api.Register(&mux)
	var out []string
	for _, p := range mux.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || strings.HasPrefix(method, "/") {
			// The catch-alls that answer 404 and 405 as JSON; every
			// other route names its method.
			if p != "/v1/" && p != "/metrics" {
				t.Errorf("route %q has no method: every API route names one", p)
			}
			continue
		}
		path = strings.ReplaceAll(path, "...}", "}")
		path = strings.TrimSuffix(path, "{$}")
		out = append(out, method+" "+path)
	}
	return out
}

// documentedRoutes returns "METHOD /path" for every operation of doc.
func documentedRoutes(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}

// TestOpenAPIRoutes fails when the server registers a route the document
// does not describe, or the document describes one the server does not
// have. A new route is added to openapi.json in the same change.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served, documented := servedRoutes(t), documentedRoutes(doc)
	if len(served) == 0 {
		t.Fatal("Register added no routes")
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but missing from openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json describes %s, which the server does not serve", r)
		}
	}
	for _, r := range served {
		if _, path, _ := strings.Cut(r, " "); !strings.HasPrefix(path, "/v1/") && path != "/metrics" {
			t.Errorf("route %s is outside /v1", r)
		}
	}
}

// TestOpenAPIContents checks what a validator cannot: every operation says
// who may call it and how it fails, the reason enum is dsn's, and the
// Suppression schema names every field the store returns.
func TestOpenAPIContents(t *testing.T) {
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s: no operationId or summary", name)
			}
			if op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s: the 401 of a missing or wrong token is not documented", name)
			}
			for code, rr := range op.Responses.Map() {
				if code[0] == '2' {
					continue
				}
				mt := rr.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s: error %s is not the JSON Error object", name, code)
				}
			}
		}
	}

	var want []any
	for _, r := range dsn.Reasons() {
		want = append(want, string(r))
	}
	if got := doc.Components.Schemas["Reason"].Value.Enum; !reflect.DeepEqual(got, want) {
		t.Errorf("Reason enum %v, want dsn.Reasons() %v", got, want)
	}

	props := doc.Components.Schemas["Suppression"].Value.Properties
	var fields []string
	st := reflect.TypeFor[store.Suppression]()
	for i := range st.NumField() {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields = append(fields, name)
		if _, ok := props[name]; !ok {
			t.Errorf("store.Suppression field %q is missing from the Suppression schema", name)
		}
	}
	for name := range props {
		if !slices.Contains(fields, name) {
			t.Errorf("the Suppression schema names %q, which store.Suppression does not have", name)
		}
	}
}

// exchange is one request of TestOpenAPIResponses and the status it must
// get.
type exchange struct {
	route  string // the documented "METHOD /path" it exercises
	path   string // with query
	token  string
	body   string
	status int
}

// TestOpenAPIResponses sends real requests to the handlers on a real
// PostgreSQL, validates every response (status, headers, body) against the
// document, and fails when a documented response of an operation was never
// seen (500 aside: there is no honest way to provoke it).
func TestOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	f := newFixture(t)
	f.suppress("user_unknown", "jane.doe@example.org", "joe@example.net", "max@example.com")
	f.hold(5) // h0@flood.example in force, h1 to h4 held
	huge := `{"addresses": ["` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"]}`

	seen := map[string]bool{}
	run := func(base string, client *http.Client, ex exchange) {
		t.Helper()
		method, _, _ := strings.Cut(ex.route, " ")
		var body io.Reader
		if ex.body != "" {
			body = strings.NewReader(ex.body)
		}
		req, err := http.NewRequest(method, base+ex.path, body)
		if err != nil {
			t.Fatal(err)
		}
		if ex.token != "" {
			req.Header.Set("Authorization", "Bearer "+ex.token)
		}
		if ex.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, ex.path, err)
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: reading: %v", method, ex.path, err)
		}
		if res.StatusCode != ex.status {
			t.Errorf("%s %s: status %d, want %d: %s", method, ex.path, res.StatusCode, ex.status, data)
			return
		}
		validateResponse(t, doc, ex.route, req, res, data)
		seen[ex.route+" "+res.Status[:3]] = true
	}

	client := f.srv.Client()
	esc := url.PathEscape
	for _, ex := range []exchange{
		{"GET /v1/suppressions", "/v1/suppressions?limit=2", tokenNew, "", 200},
		{"GET /v1/suppressions", "/v1/suppressions?since=2020-01-01T00:00:00Z", tokenOld, "", 200},
		{"GET /v1/suppressions", "/v1/suppressions?limit=0", tokenNew, "", 400},
		{"GET /v1/suppressions", "/v1/suppressions?since=yesterday", tokenNew, "", 400},
		{"GET /v1/suppressions.csv", "/v1/suppressions.csv", tokenNew, "", 200},
		{"GET /v1/suppressions/{address}", "/v1/suppressions/" + esc("Jane.Doe@Example.org"), tokenNew, "", 200},
		{"GET /v1/suppressions/{address}", "/v1/suppressions/" + esc("nobody@example.org"), tokenNew, "", 404},
		{"GET /v1/suppressions/{address}", "/v1/suppressions/not-an-address", tokenNew, "", 400},
		{"POST /v1/suppressions/check", "/v1/suppressions/check", tokenNew, `{"addresses": ["jane.doe@example.org", "new@example.org", " <Max@EXAMPLE.com> "]}`, 200},
		{"POST /v1/suppressions/check", "/v1/suppressions/check", tokenNew, `{"addresses": ["jane.doe@example.org", "bogus"]}`, 400},
		{"POST /v1/suppressions/check", "/v1/suppressions/check", tokenNew, `{"addresses": "jane.doe@example.org"}`, 400},
		{"POST /v1/suppressions/check", "/v1/suppressions/check", tokenNew, huge, 413},
		{"POST /v1/suppressions", "/v1/suppressions", tokenNew, `{"address": "new@example.org", "reason": "complaint", "note": "by phone"}`, 201},
		{"POST /v1/suppressions", "/v1/suppressions", tokenNew, `{"address": "new2@example.org", "reason": "not_a_reason"}`, 400},
		{"POST /v1/suppressions", "/v1/suppressions", tokenNew, huge, 413},
		{"DELETE /v1/suppressions/{address}", "/v1/suppressions/" + esc("joe@example.net") + "?reason=confirmed", tokenNew, "", 200},
		{"DELETE /v1/suppressions/{address}", "/v1/suppressions/" + esc("joe@example.net") + "?reason=again", tokenNew, "", 404},
		{"DELETE /v1/suppressions/{address}", "/v1/suppressions/" + esc("max@example.com"), tokenNew, "", 400},
		{"DELETE /v1/suppressions/{address}", "/v1/suppressions/" + esc("max@example.com"), tokenNew, huge, 413},
		{"GET /v1/suppressions/held", "/v1/suppressions/held?limit=2", tokenNew, "", 200},
		{"GET /v1/suppressions/held", "/v1/suppressions/held?cursor=%21", tokenNew, "", 400},
		{"POST /v1/suppressions/held/release", "/v1/suppressions/held/release", tokenNew, `{"addresses": ["h1@flood.example", "nobody@example.org"], "reason": "checked"}`, 200},
		{"POST /v1/suppressions/held/release", "/v1/suppressions/held/release", tokenNew, `{"addresses": ["nobody@example.org"]}`, 404},
		{"POST /v1/suppressions/held/release", "/v1/suppressions/held/release", tokenNew, `{}`, 400},
		{"POST /v1/suppressions/held/release", "/v1/suppressions/held/release", tokenNew, huge, 413},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, `{"addresses": ["h2@flood.example"], "reason": "forged"}`, 200},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, `{"all": true, "reason": "forged"}`, 200},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, `{"all": true, "reason": "again"}`, 404},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, `{"all": true}`, 400},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, huge, 413},
		{"POST /v1/return-paths", "/v1/return-paths", tokenNew, `{"addresses": ["alice@customer.example", "not an address"], "verp": true}`, 200},
		{"POST /v1/return-paths", "/v1/return-paths", tokenNew, `{"mailbox": "bounces"}`, 400},
		{"POST /v1/return-paths", "/v1/return-paths", tokenNew, `{"mailbox": "news", "addresses": []}`, 404},
		{"POST /v1/return-paths", "/v1/return-paths", tokenNew, `{"addresses": [` + strings.Repeat(`"a@b.example",`, httpapi.MaxSignAddresses) + `"a@b.example"]}`, 413},
		{"GET /v1/openapi.json", "/v1/openapi.json", tokenNew, "", 200},
		{"GET /metrics", "/metrics", tokenNew, "", 200},
	} {
		run(f.srv.URL, client, ex)
	}
	// Every route refuses a request without a token, or with a wrong one.
	for _, r := range documentedRoutes(doc) {
		_, path, _ := strings.Cut(r, " ")
		path = strings.ReplaceAll(path, "{address}", esc("jane.doe@example.org"))
		run(f.srv.URL, client, exchange{r, path, "", "", 401})
		run(f.srv.URL, client, exchange{r, path, "wrong-token", "", 401})
	}

	// The same API with its database gone answers 503.
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
	down := f.serve(s)
	proxy.stop()
	for _, ex := range []exchange{
		{"GET /v1/suppressions", "/v1/suppressions", tokenNew, "", 503},
		{"GET /v1/suppressions.csv", "/v1/suppressions.csv", tokenNew, "", 503},
		{"GET /v1/suppressions/{address}", "/v1/suppressions/" + esc("jane.doe@example.org"), tokenNew, "", 503},
		{"POST /v1/suppressions/check", "/v1/suppressions/check", tokenNew, `{"addresses": ["jane.doe@example.org"]}`, 503},
		{"POST /v1/suppressions", "/v1/suppressions", tokenNew, `{"address": "x@example.org", "reason": "complaint"}`, 503},
		{"DELETE /v1/suppressions/{address}", "/v1/suppressions/" + esc("jane.doe@example.org") + "?reason=x", tokenNew, "", 503},
		{"GET /v1/suppressions/held", "/v1/suppressions/held", tokenNew, "", 503},
		{"POST /v1/suppressions/held/release", "/v1/suppressions/held/release", tokenNew, `{"all": true}`, 503},
		{"POST /v1/suppressions/held/discard", "/v1/suppressions/held/discard", tokenNew, `{"all": true, "reason": "x"}`, 503},
	} {
		run(down.URL, down.Client(), ex)
	}

	// Every documented response was seen, except the generic 500.
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				key := method + " " + path + " " + code
				if code != "500" && !seen[key] {
					missing = append(missing, key)
				}
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("documented response %s was never exercised", m)
	}
}

// validateResponse validates one response against the operation route
// ("METHOD /path") of doc: its status must be documented, and its headers
// and body must match the schemas.
func validateResponse(t *testing.T, doc *openapi3.T, route string, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	method, path, _ := strings.Cut(route, " ")
	item := doc.Paths.Find(path)
	if item == nil || item.GetOperation(method) == nil {
		t.Errorf("%s is not in openapi.json", route)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)},
		},
		Status:  res.StatusCode,
		Header:  res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.json: %v\nbody: %.300s", method, req.URL.Path, res.StatusCode, err, body)
	}
	if route == "GET /v1/openapi.json" && res.StatusCode == 200 && !bytes.Equal(body, httpapi.OpenAPI) {
		t.Error("GET /v1/openapi.json does not serve the embedded document")
	}
}
