package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/store"
)

func TestExampleFileIsValid(t *testing.T) {
	cfg, err := Load("../bounced.example.conf")
	if err != nil {
		t.Fatalf("the example configuration does not load: %v", err)
	}
	if len(cfg.Mailboxes) != 1 {
		t.Fatalf("mailboxes = %d, want 1", len(cfg.Mailboxes))
	}
	if host, _, err := net.SplitHostPort(cfg.Listen); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("the example listens on %q, want a loopback address", cfg.Listen)
	}
	m := cfg.Mailboxes[0]
	if m.Name != "bounces" || m.TLS != TLSImplicit || m.MaxSize != 25<<20 || !m.Idle || m.Password.Env != "BOUNCED_IMAP_PASSWORD" {
		t.Errorf("mailbox = %+v", m)
	}
}

func TestParseValuesAndDefaults(t *testing.T) {
	cfg, problems := Parse([]byte(`
log_format = json   # trailing comment
log_level = debug
[mailbox "a"]
address = 127.0.0.1:143
username = "user # with hash"
password_file = /run/pw ; comment
max_size = 2MB
batch_size = 500
correlation_headers = X-Campaign-Id , List-Id
[mailbox b]
address = imap.example.com:993
username = u
auth = XOAUTH2
token_command = "printf tok"
schedule = */5 * * * *
disposition = flag
`))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if cfg.LogFormat != "json" || cfg.LogLevel != slog.LevelDebug || cfg.Listen != DefaultListen {
		t.Errorf("top = %+v", cfg)
	}
	a, b := cfg.Mailboxes[0], cfg.Mailboxes[1]
	if a.Username != "user # with hash" || a.TLS != TLSStartTLS || a.MaxSize != 2_000_000 || a.BatchSize != 500 ||
		a.Schedule != DefaultSchedule || a.Disposition != DispositionMove || a.Folder != "INBOX" ||
		strings.Join(a.CorrelationHeaders, "|") != "X-Campaign-Id|List-Id" || a.Password.File != "/run/pw" {
		t.Errorf("a = %+v", a)
	}
	if b.TLS != TLSImplicit || b.Auth != AuthXOAUTH2 || b.Token.Command != "printf tok" || b.Disposition != DispositionFlag || b.Schedule != "*/5 * * * *" {
		t.Errorf("b = %+v", b)
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, problems := Parse([]byte(`
listen = nonsense
colour = blue
[mailbox x]
address = imap.example.com
username =
password = hunter2
schedule = every minute please
disposition = shred
batch_size = 0
timeout = soon
max_size = 12 parsecs
[mailbox x]
[mailbox plain]
address = imap.example.com:143
tls = none
username = u
password_env = P
[mailbox oauth]
address = imap.example.com:993
username = u
auth = xoauth2
[mailbox port]
address = imap.example.com:10993
username = u
password_env = P
[nonsense]
no equals sign here
`))
	want := []string{
		"line 2: listen: not a host:port",
		"line 3: colour: unknown setting",
		`line 7: mailbox "x": password: passwords do not belong in the file`,
		`line 9: mailbox "x": disposition: "shred" is not one of`,
		`line 10: mailbox "x": batch_size:`,
		`line 11: mailbox "x": timeout:`,
		`line 12: mailbox "x": max_size:`,
		`line 4: mailbox "x": address "imap.example.com" is not host:port`,
		`line 4: mailbox "x": username is required`,
		`line 4: mailbox "x": auth = login needs password_env or password_file`,
		`line 8: mailbox "x": schedule: "every minute please" is not a valid cron expression`,
		`line 13: mailbox "x" defined twice`,
		`mailbox "plain": tls = none to imap.example.com would send the password in clear text`,
		`mailbox "oauth": auth = xoauth2 needs token_file or token_command`,
		`line 23: mailbox "port": tls is required with port 10993`,
		`line 27: unknown section kind "nonsense"`,
		"line 28: expected key = value",
	}
	text := problems.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q in:\n%s", w, text)
		}
	}
	if strings.Contains(text, "line 4: mailbox \"x\": schedule") {
		t.Errorf("the schedule's problem points at the section, not its line:\n%s", text)
	}
	if strings.Count(text, "timeout") != 1 {
		t.Errorf("the bad timeout is reported more than once:\n%s", text)
	}
	if strings.Contains(text, "hunter2") {
		t.Errorf("a problem repeats the password:\n%s", text)
	}
}

func TestPlaintextToLoopbackAllowed(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		_, problems := Parse([]byte(fmt.Sprintf("[mailbox l]\naddress = %s:143\ntls = none\nusername = u\npassword_env = P\n", host)))
		if len(problems) > 0 {
			t.Errorf("%s: %v", host, problems)
		}
	}
	_, problems := Parse([]byte("[mailbox r]\naddress = 10.0.0.1:143\ntls = none\nallow_plaintext = true\nusername = u\npassword_env = P\n"))
	if len(problems) > 0 {
		t.Errorf("allow_plaintext: %v", problems)
	}
}

func TestCheckEnvironment(t *testing.T) {
	dir := t.TempDir()
	badCA := filepath.Join(dir, "ca.pem")
	os.WriteFile(badCA, []byte("not a certificate"), 0o600)
	cfg, problems := Parse([]byte(fmt.Sprintf(`
[mailbox a]
address = imap.example.com:993
username = u
password_env = BOUNCED_TEST_SURELY_UNSET
ca_file = %s
[mailbox b]
address = imap.example.com:993
username = u
password_file = %s
`, badCA, filepath.Join(dir, "missing"))))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	t.Setenv("DATABASE_URL", "")
	text := cfg.CheckEnvironment(Uses{Database: true, Daemon: true}).Error()
	for _, w := range []string{"DATABASE_URL is not set", "BOUNCED_TEST_SURELY_UNSET is not set", "no PEM certificate", "reading password file"} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("hunter2")
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "password", s)
	out := fmt.Sprintf("%v %s %+v %#v", s, s, s, s) + logs.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret leaked: %s", out)
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestTokenSource(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "n")
	// The command counts its runs and prints JSON with a short expiry.
	ts := TokenSource{Command: fmt.Sprintf(`echo x >> %s; printf '{"access_token":"tok-%%s","expires_in":3600}' $(wc -l < %s)`, counter, counter)}.TokenCache()
	ctx := context.Background()
	t1, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := ts.Token(ctx)
	if t1.Reveal() != "tok-1" || t2.Reveal() != "tok-1" {
		t.Errorf("tokens %q %q, want the cached tok-1 twice", t1.Reveal(), t2.Reveal())
	}
	ts.Invalidate()
	t3, _ := ts.Token(ctx)
	if t3.Reveal() != "tok-2" {
		t.Errorf("after Invalidate got %q, want tok-2", t3.Reveal())
	}

	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("abc\n"), 0o600)
	fs := TokenSource{File: file, Lifetime: time.Nanosecond}.TokenCache()
	if tok, _ := fs.Token(ctx); tok.Reveal() != "abc" {
		t.Errorf("file token = %q", tok.Reveal())
	}
	os.WriteFile(file, []byte("def"), 0o600)
	time.Sleep(time.Millisecond)
	if tok, _ := fs.Token(ctx); tok.Reveal() != "def" {
		t.Errorf("expired file token not re-read: %q", tok.Reveal())
	}

	_, err = TokenSource{Command: "exit 3"}.TokenCache().Token(ctx)
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("failing command: err = %v", err)
	}
}

func TestSoftBouncePolicy(t *testing.T) {
	base := "[mailbox a]\naddress = imap.example.com:993\nusername = u\npassword_env = P\n"
	cfg, problems := Parse([]byte("soft_threshold = 5\nsoft_window = 7d\nsoft_expiry = 36h\n" + base))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if cfg.SoftThreshold != 5 || cfg.SoftWindow != 7*24*time.Hour || cfg.SoftExpiry != 36*time.Hour {
		t.Errorf("policy = %d, %s, %s", cfg.SoftThreshold, cfg.SoftWindow, cfg.SoftExpiry)
	}
	cfg, problems = Parse([]byte(base))
	if len(problems) > 0 || cfg.SoftThreshold != 0 || cfg.SoftWindow != 0 || cfg.SoftExpiry != 0 {
		t.Errorf("unset policy should stay zero (the store's defaults): %+v %v", cfg, problems)
	}
	_, problems = Parse([]byte("soft_threshold = 0\nsoft_window = -2d\nsoft_expiry = soon\n" + base))
	if len(problems) != 3 {
		t.Errorf("want 3 problems for a bad policy, got %d: %v", len(problems), problems)
	}
}

func TestEventRetention(t *testing.T) {
	for _, tc := range []struct {
		top     string
		want    time.Duration
		problem string
	}{
		{"", 0, ""},
		{"event_retention = 400d\n", 400 * 24 * time.Hour, ""},
		{"event_retention = 7d\n", 0, "at least 30d"},
		{"soft_window = 60d\nevent_retention = 45d\n", 45 * 24 * time.Hour, "longer than soft_window"},
		{"event_retention = forever\n", 0, "not a positive duration"},
		{"event_retention = 213535d\n", 0, "(at most 106751d)"}, // overflowed to 23 days before
		{"event_retention = 106751d\n", 106751 * 24 * time.Hour, ""},
	} {
		cfg, problems := Parse([]byte(tc.top + testMailbox))
		switch {
		case tc.problem == "" && len(problems) > 0:
			t.Errorf("%q: unexpected problems %v", tc.top, problems)
		case tc.problem != "" && !strings.Contains(problems.Error(), tc.problem):
			t.Errorf("%q: problems %v, want one saying %q", tc.top, problems, tc.problem)
		case tc.problem == "" && cfg.EventRetention != tc.want:
			t.Errorf("%q: EventRetention = %s, want %s", tc.top, cfg.EventRetention, tc.want)
		}
	}
}

func TestMinEventRetentionIsTheStores(t *testing.T) {
	if MinEventRetention != store.MinRetention {
		t.Errorf("config.MinEventRetention %s differs from store.MinRetention %s", MinEventRetention, store.MinRetention)
	}
}

func TestReplicaSettings(t *testing.T) {
	const box = "[mailbox a]\naddress = 127.0.0.1:143\nusername = u\npassword_env = P\n"
	cfg, problems := Parse([]byte(box))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if cfg.DBMaxConns != DefaultDBMaxConns || cfg.MaxParallel != DefaultMaxParallel || cfg.TakeoverAfter != DefaultTakeoverAfter || cfg.Replica != "" {
		t.Errorf("defaults = %d, %d, %s, %q", cfg.DBMaxConns, cfg.MaxParallel, cfg.TakeoverAfter, cfg.Replica)
	}
	if h, _ := os.Hostname(); h != "" && cfg.ReplicaName() != h {
		t.Errorf("ReplicaName() = %q without replica set, want the host name %q", cfg.ReplicaName(), h)
	}
	cfg, problems = Parse([]byte("replica = east-1\ndb_max_conns = 3\nmax_parallel_mailboxes = 8\ntakeover_after = 10s\n" + box))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if cfg.ReplicaName() != "east-1" || cfg.DBMaxConns != 3 || cfg.MaxParallel != 8 || cfg.TakeoverAfter != 10*time.Second {
		t.Errorf("parsed %q, %d, %d, %s", cfg.ReplicaName(), cfg.DBMaxConns, cfg.MaxParallel, cfg.TakeoverAfter)
	}
	for _, bad := range []string{"replica = a b\n", "db_max_conns = 1\n", "max_parallel_mailboxes = 0\n", "takeover_after = 500ms\n"} {
		if _, problems := Parse([]byte(bad + box)); len(problems) == 0 {
			t.Errorf("%q: no problem reported", bad)
		}
	}
}

func TestCheckSchedule(t *testing.T) {
	for spec, want := range map[string]string{
		"*/5 * * * *":           "",
		"@every 90s":            "",
		"0 */6 * * 1-5":         "",
		"CRON_TZ=UTC 0 9 * * *": "",
		"*/99 * * * *":          "step 99 in the minute field",
		"0 */24 * * *":          "step 24 in the hour field",
		"0,*/60 * * * *":        "step 60 in the minute field",
		"0 0 * */12 *":          "step 12 in the month field",
		"* * * *":               "not a valid cron expression",
	} {
		err := CheckSchedule(spec)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckSchedule(%q) = %v, want %q", spec, err, want)
		}
	}
	_, problems := Parse([]byte("[mailbox x]\naddress = imap.example.com:993\nusername = u\npassword_env = P\n\nschedule = */99 * * * *\n"))
	if problems == nil || !strings.Contains(problems.Error(), `line 6: mailbox "x": schedule: "*/99 * * * *": step 99`) {
		t.Errorf("problems = %v, want line 6 naming the step", problems)
	}
}

func TestParseDurationOverflow(t *testing.T) {
	for _, s := range []string{"213535d", "9223372036854775807d", "-213535d"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", s, d)
		}
	}
	if d, err := ParseDuration("400d"); err != nil || d != 400*24*time.Hour {
		t.Errorf("ParseDuration(400d) = %s, %v", d, err)
	}
}
