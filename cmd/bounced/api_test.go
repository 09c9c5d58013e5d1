package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/store"
)

const testAPIToken = "run-test-token-0123456789"

// startRun runs `bounced run` in-process on a free loopback port until the
// test ends, and returns the base URL and a function that stops it and
// returns its exit status and stderr.
func startRun(t *testing.T, configText string) (base string, stop func() (int, string)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runCmd(ctx, "run", "-listen", listen, "-config", writeConfig(t, configText))
		done <- result{code, errOut}
	}()
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, ""
		}
		stopped = true
		cancel()
		select {
		case r := <-done:
			return r.code, r.stderr
		case <-time.After(20 * time.Second):
			t.Fatal("run did not stop after cancel")
			return 0, ""
		}
	}
	t.Cleanup(func() { stop() })
	return "http://" + listen, stop
}

// get fetches url with the token ("" for none).
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitFor polls until cond holds or 15 seconds have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue returns the value of the sample named exactly key (name and
// labels) in a /metrics body, or -1 when there is none.
func metricValue(body, key string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// appendMessages delivers raw messages to the INBOX of a memIMAP server.
func appendMessages(t *testing.T, addr string, msgs ...[]byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		cmd.Write(msg)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunServesAPI runs the daemon against PostgreSQL with an API token:
// health needs no token, the API and metrics do, the metrics follow the
// passes and the CSV is the CLI's.
func TestRunServesAPI(t *testing.T) {
	dbURL := migratedDB(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("BOUNCED_TEST_PW", "pw")
	t.Setenv("BOUNCED_TEST_API_TOKEN", testAPIToken)
	if code, _, errOut := runDB(t, "suppressions", "add", "Manual@Example.org", "--reason", "complaint", "--database-url", dbURL); code != 0 {
		t.Fatalf("suppressions add: %s", errOut)
	}
	imapAddr := memIMAP(t, 3) // three messages that are no bounces
	cfg := "api_token_env = BOUNCED_TEST_API_TOKEN\n" +
		strings.Replace(mailboxSection("m", imapAddr, "BOUNCED_TEST_PW"), "@every 1h", "@every 1s", 1)
	base, stop := startRun(t, cfg)

	waitFor(t, "the first pass", func() bool {
		code, body := get(t, base+"/readyz?verbose=1", testAPIToken)
		return code == 200 && strings.Contains(body, "last_success")
	})
	// Without the token /readyz says ok or failing, no details.
	if code, body := get(t, base+"/readyz", ""); code != 200 || strings.TrimSpace(body) != `{"ready":true,"mailboxes":[{"mailbox":"m","state":"ok"}]}` {
		t.Errorf("/readyz without a token: %d %s", code, body)
	}
	for _, token := range []string{"", "wrong-token-0123456789"} {
		if code, body := get(t, base+"/readyz?verbose=1", token); code != http.StatusUnauthorized || strings.Contains(body, "last_success") {
			t.Errorf("/readyz?verbose=1 with token %q: %d %s, want 401", token, code, body)
		}
	}
	if code, body := get(t, base+"/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz without a token: %d %q", code, body)
	}
	for _, path := range []string{"/metrics", "/v1/suppressions", "/v1/suppressions.csv"} {
		if code, _ := get(t, base+path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", path, code)
		}
	}

	code, metrics := get(t, base+"/metrics", testAPIToken)
	if code != 200 || metricValue(metrics, `bounced_mailbox_passes_total{mailbox="m"}`) < 1 ||
		metricValue(metrics, `bounced_mailbox_messages_total{mailbox="m",outcome="unrecognized"}`) != 3 ||
		metricValue(metrics, `bounced_mailbox_messages_total{mailbox="m",outcome="processed"}`) != 0 ||
		metricValue(metrics, `bounced_suppressions_in_force`) != 1 ||
		metricValue(metrics, `bounced_mailbox_last_success_timestamp_seconds{mailbox="m"}`) < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("/metrics after the first pass: %d\n%s", code, metrics)
	}

	// Two bounces arrive: a later pass records them, and the metrics show it.
	appendMessages(t, imapAddr, simpleDSN("gone1@example.net", "api-1"), simpleDSN("gone2@example.net", "api-2"))
	waitFor(t, "the bounces in the metrics", func() bool {
		_, metrics = get(t, base+"/metrics", testAPIToken)
		return metricValue(metrics, `bounced_mailbox_messages_total{mailbox="m",outcome="processed"}`) == 2 &&
			metricValue(metrics, `bounced_suppressions_in_force`) == 3
	})

	code, csvBody := get(t, base+"/v1/suppressions.csv", testAPIToken)
	_, cliCSV, errOut := runDB(t, "suppressions", "export", "--format", "csv", "--database-url", dbURL)
	if code != 200 || csvBody != cliCSV || strings.Count(cliCSV, "\n") != 4 {
		t.Errorf("/v1/suppressions.csv (%d):\n%s\nwant the CLI export:\n%s%s", code, csvBody, cliCSV, errOut)
	}
	code, body := get(t, base+"/v1/suppressions/GONE1@example.net", testAPIToken)
	if code != 200 || !strings.Contains(body, `"reason":"user_unknown"`) {
		t.Errorf("GET a bounced address: %d %s", code, body)
	}

	exit, stderr := stop()
	if exit != 0 {
		t.Errorf("run exited %d:\n%s", exit, stderr)
	}
	if strings.Contains(stderr, testAPIToken) || !strings.Contains(stderr, "api=true") {
		t.Errorf("stderr shows the token or not that the API is on:\n%s", stderr)
	}
}

// TestRunWithoutAPIToken: without a token the API and metrics are not
// served at all, and the log says so once.
func TestRunWithoutAPIToken(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://unused")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	useRecorder(t, &countingRecorder{cps: map[string]store.Checkpoint{}})
	base, stop := startRun(t, mailboxSection("m", memIMAP(t, 1), "BOUNCED_TEST_PW"))
	waitFor(t, "the server", func() bool { code, _ := get(t, base+"/healthz", ""); return code == 200 })
	for _, path := range []string{"/metrics", "/v1/suppressions", "/v1/suppressions.csv"} {
		if code, _ := get(t, base+path, testAPIToken); code != http.StatusNotFound {
			t.Errorf("%s without a configured token: %d, want 404", path, code)
		}
	}
	exit, stderr := stop()
	if exit != 0 || strings.Count(stderr, "HTTP API is off") != 1 {
		t.Errorf("exit %d, want the API off logged once:\n%s", exit, stderr)
	}
}

// TestCheckConfigAPIToken: check-config and run refuse token problems.
func TestCheckConfigAPIToken(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/bounced")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	t.Setenv("BOUNCED_TEST_SHORT_TOKEN", "too-short")
	section := mailboxSection("a", "127.0.0.1:143", "BOUNCED_TEST_PW")
	for _, tt := range []struct{ top, want string }{
		{"api_token_env = BOUNCED_TEST_UNSET_TOKEN\n", "environment variable BOUNCED_TEST_UNSET_TOKEN is not set"},
		{"api_token_env = BOUNCED_TEST_SHORT_TOKEN\n", "shorter than 16 characters"},
		{fmt.Sprintf("api_token_file = %s/none\n", t.TempDir()), "reading API token file"},
		{"api_token = " + testAPIToken + "\n", "tokens do not belong in the file"},
	} {
		cfg := writeConfig(t, tt.top+section)
		code, _, errOut := runCmd(context.Background(), "check-config", "-config", cfg)
		if code != 1 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "too-short") {
			t.Errorf("check-config with %q: exit %d, stderr %q; want 1 and %q", tt.top, code, errOut, tt.want)
		}
		if code, _, errOut := runCmd(context.Background(), "run", "-config", cfg); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("run with %q: exit %d, stderr %q; want 2 and %q", tt.top, code, errOut, tt.want)
		}
	}
}
