package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// countingRecorder is a small in-memory Recorder for the command tests.
type countingRecorder struct {
	mu       sync.Mutex
	cps      map[string]store.Checkpoint
	messages int
}

func (r *countingRecorder) Checkpoint(ctx context.Context, mailbox string) (store.Checkpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cps[mailbox], nil
}

func (r *countingRecorder) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cps[b.Mailbox] = store.Checkpoint{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, LastUID: b.LastUID}
	r.messages += len(b.Messages)
	return store.BatchResult{Messages: len(b.Messages)}, nil
}

// useRecorder makes the commands open rec instead of the store.
func useRecorder(t *testing.T, rec imapwatch.Recorder) {
	old := recorderOpener
	recorderOpener = func(context.Context, string, *config.Config, *slog.Logger) (imapwatch.Recorder, func(), error) {
		return rec, func() {}, nil
	}
	t.Cleanup(func() { recorderOpener = old })
}

// memIMAP starts go-imap's in-process server with user "u" / "pw" and n
// messages in INBOX, and returns its address.
func memIMAP(t *testing.T, n int) string {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "pw")
	user.Create("INBOX", nil)
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		msg := fmt.Sprintf("From: a@example.org\r\nMessage-ID: <%d@example.org>\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i, i)
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		io.WriteString(cmd, msg)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	return ln.Addr().String()
}

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mailboxSection(name, addr, passwordEnv string) string {
	return fmt.Sprintf("[mailbox %s]\naddress = %s\ntls = none\nusername = u\npassword_env = %s\nschedule = @every 1h\n", name, addr, passwordEnv)
}

func runCmd(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckConfig(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/bounced")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	good := writeConfig(t, mailboxSection("a", "127.0.0.1:143", "BOUNCED_TEST_PW"))
	code, out, errOut := runCmd(context.Background(), "check-config", "-config", good)
	if code != 0 || !strings.Contains(out, "OK, 1 mailbox") || !strings.Contains(out, "a: u@127.0.0.1:143") ||
		!strings.Contains(out, "brake: at most 100 new suppressions per message and 5000 per hour") {
		t.Errorf("good config: code %d, stdout %q, stderr %q", code, out, errOut)
	}

	bad := writeConfig(t, mailboxSection("a", "127.0.0.1:143", "BOUNCED_TEST_UNSET_PW")+"schedule2 = x\n[mailbox b]\naddress = imap.example.com:993\nusername = u\npassword_env = P\nschedule = 61 * * * *\n")
	code, out, errOut = runCmd(context.Background(), "check-config", "-config", bad)
	if code != 1 {
		t.Errorf("bad config: code %d, want 1", code)
	}
	for _, want := range []string{"schedule2: unknown setting", `line 12: mailbox "b": schedule: "61 * * * *" is not a valid cron expression`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// Secrets are checked too, and reported with the file's problems.
	code, _, errOut = runCmd(context.Background(), "check-config", "-config", writeConfig(t, mailboxSection("a", "127.0.0.1:143", "BOUNCED_TEST_UNSET_PW")))
	if code != 1 || !strings.Contains(errOut, "BOUNCED_TEST_UNSET_PW is not set") {
		t.Errorf("unset password: code %d, stderr %q", code, errOut)
	}
}

func TestOnceExitStatus(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://unused")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	t.Setenv("BOUNCED_TEST_WRONG_PW", "pw-x9q7-not-this")
	good, other := memIMAP(t, 5), memIMAP(t, 2)
	rec := &countingRecorder{cps: map[string]store.Checkpoint{}}
	useRecorder(t, rec)

	cfg := writeConfig(t, mailboxSection("good", good, "BOUNCED_TEST_PW")+mailboxSection("bad", other, "BOUNCED_TEST_WRONG_PW"))
	code, out, errOut := runCmd(context.Background(), "once", "-config", cfg)
	if code != 1 {
		t.Errorf("code %d with one failing mailbox, want 1; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "good: 5 message(s): 0 processed, 5 unrecognized") || !strings.Contains(out, "bad: FAILED") {
		t.Errorf("stdout:\n%s", out)
	}
	if strings.Contains(out+errOut, "pw-x9q7") {
		t.Errorf("a password leaked:\n%s%s", out, errOut)
	}
	if rec.messages != 5 {
		t.Errorf("recorded %d, want 5", rec.messages)
	}

	cfg = writeConfig(t, mailboxSection("good", good, "BOUNCED_TEST_PW"))
	code, out, _ = runCmd(context.Background(), "once", "-config", cfg, "-log-format", "json")
	if code != 0 || !strings.Contains(out, "good: 0 message(s)") {
		t.Errorf("second run: code %d, stdout %q", code, out)
	}
}

func TestOnceFetchOnlyNeedsNoDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	addr := memIMAP(t, 4)
	code, out, errOut := runCmd(context.Background(), "once", "-fetch-only", "-config", writeConfig(t, mailboxSection("m", addr, "BOUNCED_TEST_PW")))
	if code != 0 || !strings.Contains(out, "m: fetched 4 message(s)") {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestOnceWithoutStoreFails(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://bounced@127.0.0.1:1/none?connect_timeout=2")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	code, _, errOut := runCmd(context.Background(), "once", "-config", writeConfig(t, mailboxSection("m", "127.0.0.1:143", "BOUNCED_TEST_PW")))
	if code != 1 || !strings.Contains(errOut, "cannot open the store") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}

func TestRunServesHealthAndStops(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://unused")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	addr := memIMAP(t, 3)
	rec := &countingRecorder{cps: map[string]store.Checkpoint{}}
	useRecorder(t, rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		code, _, _ := runCmd(ctx, "run", "-listen", listen, "-config", writeConfig(t, mailboxSection("m", addr, "BOUNCED_TEST_PW")))
		done <- code
	}()
	var ready string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ready = string(b)
			rec.mu.Lock()
			done := rec.messages == 3
			rec.mu.Unlock()
			if resp.StatusCode == 200 && done {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.TrimSpace(ready) != `{"ready":true,"mailboxes":[{"mailbox":"m","state":"ok"}]}` {
		t.Errorf("/readyz = %s", ready)
	}
	resp, err := http.Get("http://" + listen + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d after cancel, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.messages != 3 {
		t.Errorf("recorded %d, want 3", rec.messages)
	}
}

// TestCheckConfigReplicaArithmetic: check-config -replicas N says what N
// replicas of the configuration use.
func TestCheckConfigReplicaArithmetic(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/bounced")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	var sections strings.Builder
	sections.WriteString("replica = east\ndb_max_conns = 3\nmax_parallel_mailboxes = 2\ntakeover_after = 20s\n")
	for i := range 7 {
		sections.WriteString(mailboxSection(fmt.Sprintf("m%d", i), "127.0.0.1:143", "BOUNCED_TEST_PW") + "idle = true\n")
	}
	code, out, errOut := runCmd(context.Background(), "check-config", "-config", writeConfig(t, sections.String()), "-replicas", "3")
	if code != 0 {
		t.Fatalf("check-config: code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		`replica "east", 3 replica(s) sharing 7 mailbox(es): about 3 mailbox(es) each`,
		"PostgreSQL sessions per replica: at most 3 (db_max_conns 3 + 0 webhook listener(s)), 9 for 3 replica(s)",
		"IMAP connections per replica: at most 4 for passes (max_parallel_mailboxes 2, two each) + up to 3 IDLE",
		"taken over within 20s (takeover_after: leases last 15s, renewed every 5s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
