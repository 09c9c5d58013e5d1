package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/pgtemp"
	"github.com/bounced/bounced/store/storetest"
)

// TestDemoWithoutDatabase runs the main job on the embedded mailbox: every
// sample message must leave INBOX for Processed or Unrecognized, and the
// verdicts must include suppressions and sender-side alerts.
func TestDemoWithoutDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	code, out, errOut := runDB(t, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	samples, err := fs.Glob(demoMessages, "demodata/*.eml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no embedded samples: %v", err)
	}
	var processed, unrecognized int
	if _, err := fmt.Sscanf(out[strings.Index(out, "Mailbox after the pass:"):], "Mailbox after the pass: INBOX 0, Processed %d, Unrecognized %d.", &processed, &unrecognized); err != nil {
		t.Fatalf("reading the folder counts (%v) from:\n%s", err, out)
	}
	if processed+unrecognized != len(samples) || unrecognized != 1 {
		t.Errorf("Processed %d + Unrecognized %d, want %d messages with the newsletter unrecognized", processed, unrecognized, len(samples))
	}
	for _, want := range []string{"user_unknown  recipient  suppress", "auth_failure  sender     alert", "complaint     recipient  suppress", "No database named"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoWithDatabase runs the demo against PostgreSQL: it migrates, records
// and lists the suppressions it made; a second run, with the same
// messages under new UIDs, records nothing twice.
func TestDemoWithDatabase(t *testing.T) {
	url := storetest.NewDatabase(t)
	code, out, errOut := runDB(t, "demo", "--database-url", url)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	list := out[strings.Index(out, "Suppression list in PostgreSQL:"):]
	for _, addr := range []string{"jane@example.org", "bob@example.org", "nina@isp.example.net"} {
		if !strings.Contains(list, addr) {
			t.Errorf("suppression list lacks %s:\n%s", addr, list)
		}
	}
	for _, sender := range []string{"amir@example.net", "jane.doe@example.net"} {
		if strings.Contains(list, sender) {
			t.Errorf("a sender-side failure suppressed %s:\n%s", sender, list)
		}
	}
	// The same messages again (a new server, so new UIDVALIDITY and UIDs):
	// the ledger knows their content, so no count moves.
	code, out, errOut = runDB(t, "demo", "--database-url", url)
	if code != 0 {
		t.Fatalf("second demo: exit %d: %s", code, errOut)
	}
	if again := out[strings.Index(out, "Suppression list in PostgreSQL:"):]; again != list {
		t.Errorf("the second pass changed the suppressions:\nfirst:\n%s\nsecond:\n%s", list, again)
	}
}

// serveDemoForTest runs the demo with --serve in the background and returns
// the status page's address and token once it listens, and a function that
// stops the demo (as Ctrl-C does) and returns its exit code and output.
func serveDemoForTest(t *testing.T, args ...string) (addr, token string, stop func() (int, string)) {
	t.Helper()
	type served struct{ addr, token string }
	ready := make(chan served, 1)
	demoServing = func(addr, token string) { ready <- served{addr, token} }
	t.Cleanup(func() { demoServing = nil })
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, append([]string{"demo", "--serve", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), &out, &errOut)
	}()
	stop = func() (int, string) {
		cancel()
		select {
		case code := <-exited:
			return code, out.String() + errOut.String()
		case <-time.After(2 * time.Minute):
			t.Fatal("the demo did not end after Ctrl-C")
			return 0, ""
		}
	}
	select {
	case s := <-ready:
		return s.addr, s.token, stop
	case code := <-exited:
		cancel()
		t.Fatalf("demo ended (exit %d) before serving:\n%s%s", code, out.String(), errOut.String())
	case <-time.After(5 * time.Minute):
		cancel()
		t.Fatalf("demo did not serve within 5 minutes:\n%s%s", out.String(), errOut.String())
	}
	return "", "", nil
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// getWithToken fetches a page of the status page with the bearer token.
func getWithToken(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, res.Status, err)
	}
	return string(body)
}

// TestDemoServesStatusPage: with a database and --serve the demo stores its
// results and serves the status page for them until Ctrl-C, signed in with
// the token it prints; without a token nothing is shown.
func TestDemoServesStatusPage(t *testing.T) {
	url := storetest.NewDatabase(t)
	addr, token, stop := serveDemoForTest(t, "--database-url", url)
	overview := getWithToken(t, "http://"+addr+"/", token)
	if !strings.Contains(overview, `<svg id="bounces-chart"`) {
		t.Errorf("the demo's overview has no chart:\n%s", overview)
	}
	list := getWithToken(t, "http://"+addr+"/suppressions", token)
	for _, addr := range []string{"jane@example.org", "nina@isp.example.net"} {
		if !strings.Contains(list, addr) {
			t.Errorf("the demo's suppression page lacks %s", addr)
		}
	}
	if mailboxes := getWithToken(t, "http://"+addr+"/mailboxes", token); !strings.Contains(mailboxes, "<td>demo</td>") {
		t.Errorf("the demo's mailbox page lacks the demo mailbox:\n%s", mailboxes)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("the demo's page without a token: %s, want a redirect to sign-in", res.Status)
	}
	if code, out := stop(); code != 0 || !strings.Contains(out, "Sign in with the token "+token) {
		t.Errorf("demo after Ctrl-C: exit %d:\n%s", code, out)
	}
}

// TestDemoThrowAwayCluster: without a database, where PostgreSQL is
// installed, the demo starts a cluster of its own, serves the page for it,
// and removes it at Ctrl-C.
func TestDemoThrowAwayCluster(t *testing.T) {
	if pgtemp.Bin() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL's initdb is not installed (CI=true)")
		}
		t.Skip("PostgreSQL's initdb is not installed")
	}
	t.Setenv("DATABASE_URL", "")
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "bounced-demo-pg-*"))
	addr, token, stop := serveDemoForTest(t)
	if list := getWithToken(t, "http://"+addr+"/suppressions", token); !strings.Contains(list, "jane@example.org") {
		t.Errorf("the demo's suppression page lacks jane@example.org")
	}
	code, out := stop()
	if code != 0 || !strings.Contains(out, "Starting a throw-away PostgreSQL") {
		t.Errorf("demo: exit %d:\n%s", code, out)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "bounced-demo-pg-*"))
	if len(after) > len(before) {
		t.Errorf("the throw-away cluster was left behind: %v", after)
	}
}
