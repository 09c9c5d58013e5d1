package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"ready":false}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// The listen address of the configuration, on every interface: asked
	// on loopback.
	cfg := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(cfg, []byte("listen = :"+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"healthcheck", "-config", cfg}, 0, "ok"},
		{[]string{"healthcheck", "-listen", "0.0.0.0:" + port}, 0, "ok"},
		{[]string{"healthcheck", "-url", srv.URL + "/healthz"}, 0, "ok"},
		{[]string{"healthcheck", "-config", cfg, "-ready"}, 1, "503 Service Unavailable"},
		{[]string{"healthcheck", "-url", srv.URL + "/nothing"}, 1, "404"},
		{[]string{"healthcheck", "-listen", "127.0.0.1:1"}, 1, "connection refused"},
		{[]string{"healthcheck", "-config", filepath.Join(t.TempDir(), "missing.conf")}, 1, "listen address"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.out) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d with %q", tc.args, code, out, errOut, tc.code, tc.out)
		}
	}
}

func TestLocalURL(t *testing.T) {
	for listen, want := range map[string]string{
		":8080":            "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":     "http://127.0.0.1:8080/healthz",
		"[::]:8080":        "http://127.0.0.1:8080/healthz",
		"127.0.0.1:9000":   "http://127.0.0.1:9000/healthz",
		"[::1]:9000":       "http://[::1]:9000/healthz",
		"bounced.lan:8080": "http://bounced.lan:8080/healthz",
	} {
		if got, err := localURL(listen, "/healthz"); err != nil || got != want {
			t.Errorf("localURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := localURL("8080", "/healthz"); err == nil {
		t.Error("localURL(8080): no error")
	}
}
