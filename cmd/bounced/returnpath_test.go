package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bounced/bounced/dsn"
)

const (
	testReturnPathKey = "0123456789abcdef0123456789abcdef-e2e-key"
	// returnPathConfig has two mailboxes, one with a key and one without.
	returnPathConfig = `
[mailbox bounces]
address = 127.0.0.1:10143
tls = starttls
username = bounces
password_env = BOUNCED_TEST_UNUSED_PASSWORD
return_path = bounces@example.com
return_path_key_env = BOUNCED_TEST_RETURN_PATH_KEYS
own_domains = example.com

[mailbox legacy]
address = 127.0.0.1:10143
tls = starttls
username = legacy
password_env = BOUNCED_TEST_UNUSED_PASSWORD
return_path = legacy@example.com
`
)

// bouncedBinary builds the real binary once per test run.
func bouncedBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bounced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building bounced: %v\n%s", err, out)
	}
	return bin
}

// runSigned runs the binary with the test's return-path key in the
// environment and returns its exit status and output.
func runSigned(t *testing.T, bin string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_RETURN_PATH_KEYS="+testReturnPathKey)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running bounced %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// bounceTo is a Postfix DSN for mail to rcpt, delivered to returnPath.
func bounceTo(returnPath, rcpt string) string {
	return "Return-Path: <>\r\n" +
		"Delivered-To: " + returnPath + "\r\n" +
		"From: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\n" +
		"To: " + returnPath + "\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\n" +
		"<" + rcpt + ">: host mx.customer.example[192.0.2.1] said: 550 5.1.1 <" + rcpt + ">:\r\n" +
		"    Recipient address rejected: User unknown (in reply to RCPT TO command)\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mail.example.com\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown\r\n" +
		"--b1--\r\n"
}

// TestReturnPathCommands runs the real binary: `bounced parse -config
// -mailbox` and `bounced return-path sign|verify`.
func TestReturnPathCommands(t *testing.T) {
	bin := bouncedBinary(t)
	t.Run("parse", func(t *testing.T) { testParseWithReturnPathKey(t, bin) })
	t.Run("verify", func(t *testing.T) { testReturnPathVerify(t, bin) })
}

// testParseWithReturnPathKey is the "done when": a DSN delivered to
// what `bounced return-path sign` printed for its recipient is verified and
// suppresses; addressed to the plain return path or to a tampered tag it
// does not.
func testParseWithReturnPathKey(t *testing.T, bin string) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bounced.conf")
	if err := os.WriteFile(cfg, []byte(returnPathConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runSigned(t, bin, "", "return-path", "sign", "-config", cfg, "-mailbox", "bounces", "alice@customer.example", "bob@customer.example")
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "bounces+") || !strings.HasSuffix(lines[0], "@example.com") {
		t.Fatalf("return-path sign: exit %d, %q, %s", code, out, errOut)
	}
	signed, bobs := lines[0], lines[1]
	tampered := []byte(signed)
	i := len("bounces+") + 10
	tampered[i] = "01"[map[bool]int{true: 1}[tampered[i] == '0']]

	for _, c := range []struct {
		name, to string
		auth     dsn.Authenticity
		verdict  dsn.Verdict
	}{
		{"signed", signed, dsn.AuthenticityVerified, dsn.VerdictSuppress},
		{"plain return path", "bounces@example.com", dsn.AuthenticityUnsigned, dsn.VerdictIgnore},
		{"tampered tag", string(tampered), dsn.AuthenticityInvalid, dsn.VerdictIgnore},
		{"another recipient's tag", bobs, dsn.AuthenticityInvalid, dsn.VerdictIgnore},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".eml")
		if err := os.WriteFile(file, []byte(bounceTo(c.to, "alice@customer.example")), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runSigned(t, bin, "", "parse", "-config", cfg, "-mailbox", "bounces", "--json", file)
		if code != 0 {
			t.Fatalf("%s: parse: exit %d: %s", c.name, code, errOut)
		}
		var res dsn.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v: %q", c.name, err, out)
		}
		if res.Recipient != "alice@customer.example" || res.Authenticity != c.auth || res.Verdict != c.verdict || res.Reason != dsn.ReasonUserUnknown {
			t.Errorf("%s: %s %s %s %s, want %s %s user_unknown", c.name, res.Recipient, res.Authenticity, res.Verdict, res.Reason, c.auth, c.verdict)
		}
		if !strings.Contains(out, `"authenticity":"`+string(c.auth)+`"`) {
			t.Errorf("%s: the JSON line lacks the authenticity: %s", c.name, out)
		}

		// Without the configuration, as before: unsigned, and acted on.
		_, out, _ = runSigned(t, bin, "", "parse", "--json", file)
		if !strings.Contains(out, `"verdict":"suppress","authenticity":"unsigned"`) {
			t.Errorf("%s: parse without -config: %s", c.name, out)
		}
	}

	// The mailbox without a key: unsigned and acted on, and check-config
	// warns that its suppressions can be forged.
	file := filepath.Join(dir, "signed.eml")
	_, out, _ = runSigned(t, bin, "", "parse", "-config", cfg, "-mailbox", "legacy", "--json", file)
	if !strings.Contains(out, `"verdict":"suppress","authenticity":"unsigned"`) {
		t.Errorf("mailbox without a key: %s", out)
	}
	// Our own address is never suppressed, with or without a key.
	own := filepath.Join(dir, "own.eml")
	if err := os.WriteFile(own, []byte(bounceTo("legacy@example.com", "news@example.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, out, _ = runSigned(t, bin, "", "parse", "-config", cfg, "-mailbox", "bounces", "--json", own); !strings.Contains(out, `"verdict":"ignore"`) {
		t.Errorf("own domain: %s", out)
	}
	if _, out, _ = runSigned(t, bin, "", "parse", "-config", cfg, "-mailbox", "legacy", "--json", own); !strings.Contains(out, `"verdict":"suppress"`) {
		t.Errorf("a mailbox without own_domains suppresses news@example.com: %s", out)
	}
	if code, _, _ := runSigned(t, bin, "", "parse", "-config", cfg, "--json", own); code != 2 {
		t.Errorf("two mailboxes and no -mailbox: exit %d, want 2", code)
	}
}

func testReturnPathVerify(t *testing.T, bin string) {
	cfg := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(cfg, []byte(returnPathConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runSigned(t, bin, "alice@customer.example\nBob@Customer.Example\n", "return-path", "sign", "-config", cfg, "-verp", "-")
	lines := strings.Fields(out)
	if len(lines) != 2 || !strings.Contains(lines[0], "=alice=customer.example@") {
		t.Fatalf("sign -verp from stdin: %q", out)
	}
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{lines[0]}, 0, "verified: signed for alice@customer.example"},
		{[]string{lines[0], "ALICE@customer.example"}, 0, "verified"},
		{[]string{lines[1], "bob@customer.example"}, 0, "verified"},
		{[]string{lines[0], "bob@customer.example"}, 1, "invalid: the signature does not match the recipient"},
		{[]string{"bounces@example.com", "alice@customer.example"}, 3, "unsigned"},
		{[]string{"bounces@example.com"}, 2, ""},
	} {
		code, out, errOut := runSigned(t, bin, "", append([]string{"return-path", "verify", "-config", cfg}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.say) {
			t.Errorf("verify %q: exit %d, %q %q; want %d, %q", c.args, code, out, errOut, c.code, c.say)
		}
	}
	// A recipient that cannot be signed prints nothing and fails.
	code, out, errOut := runSigned(t, bin, "", "return-path", "sign", "-config", cfg, "alice@customer.example", "not an address")
	if code != 1 || out != "" || !strings.Contains(errOut, "not an address") {
		t.Errorf("sign of a bad address: exit %d, %q, %q", code, out, errOut)
	}
	// A missing key is a configuration problem, and never shows a key.
	cmd := exec.Command(bin, "return-path", "sign", "-config", cfg, "alice@customer.example")
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_RETURN_PATH_KEYS=short-sekrit")
	b, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(b), "shorter than 32 characters") || strings.Contains(string(b), "sekrit") {
		t.Errorf("short key: exit %d, %s", cmd.ProcessState.ExitCode(), b)
	}
}

func TestCheckConfigWarnsOfForgery(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/bounced")
	t.Setenv("BOUNCED_TEST_UNUSED_PASSWORD", "pw")
	t.Setenv("BOUNCED_TEST_RETURN_PATH_KEYS", testReturnPathKey)
	cfg := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(cfg, []byte(returnPathConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t.Context(), "check-config", "-config", cfg)
	if code != 0 || !strings.Contains(out, "return path bounces@example.com, signed (valid 30d), unsigned bounces: evidence") {
		t.Errorf("check-config: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `warning: mailbox "legacy": suppressions can be forged`) || strings.Contains(errOut, `mailbox "bounces": suppressions can be forged`) {
		t.Errorf("warnings: %q", errOut)
	}
	// With a problem (the key missing), the warnings still come, with the problem.
	os.Unsetenv("BOUNCED_TEST_RETURN_PATH_KEYS")
	code, _, errOut = runCmd(t.Context(), "check-config", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, "environment variable BOUNCED_TEST_RETURN_PATH_KEYS is not set") ||
		!strings.Contains(errOut, `warning: mailbox "legacy": suppressions can be forged`) {
		t.Errorf("missing key: exit %d, %q", code, errOut)
	}
}
