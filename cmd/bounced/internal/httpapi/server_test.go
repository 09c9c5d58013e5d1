package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/store"
)

// slowStore takes delay before every listing: a slow database.
type slowStore struct {
	httpapi.Store
	delay time.Duration
}

func (s slowStore) EachSuppression(ctx context.Context, opts store.ListOptions, fn func(store.Suppression) error) error {
	time.Sleep(s.delay)
	return s.Store.EachSuppression(ctx, opts, fn)
}

// TestServerLimits serves the API with NewServer and a short write
// timeout: an answer slower than it is cut, the streamed CSV export is not
// (it extends its own deadline), and a header over the limit is a 431.
func TestServerLimits(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "ann@example.org")
	api, err := httpapi.New(httpapi.Options{Store: slowStore{f.store, 600 * time.Millisecond}, Status: f.status,
		Tokens: []config.Secret{config.NewSecret(tokenNew)}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	limits := httpapi.DefaultServerLimits
	limits.Write = 200 * time.Millisecond
	limits.MaxHeaderBytes = 4 << 10
	srv := httpapi.NewServer(mux, limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	get := func(path string, header map[string]string) (int, string, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tokenNew)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, string(b), err
	}
	if code, body, err := get("/v1/suppressions", nil); err == nil {
		t.Errorf("a list slower than the write timeout was answered: %d %s", code, body)
	}
	code, body, err := get("/v1/suppressions.csv", nil)
	if err != nil || code != 200 || !strings.Contains(body, "ann@example.org") {
		t.Errorf("CSV export slower than the write timeout: %d %q %v; want it whole", code, body, err)
	}
	code, _, err = get("/v1/suppressions.csv", map[string]string{"X-Big": strings.Repeat("a", 64<<10)})
	if err != nil || code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("header over the limit: %d %v, want 431", code, err)
	}

	d := httpapi.NewServer(nil, httpapi.DefaultServerLimits)
	if d.ReadHeaderTimeout <= 0 || d.ReadTimeout <= 0 || d.WriteTimeout <= httpapi.DefaultDBTimeout || d.IdleTimeout <= 0 || d.MaxHeaderBytes <= 0 {
		t.Errorf("default server limits %+v: every one must be set", httpapi.DefaultServerLimits)
	}
}
