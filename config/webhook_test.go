package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const mailbox = "[mailbox a]\naddress = imap.example.com:993\nusername = u\npassword_env = P\n"

func TestWebhookValuesAndDefaults(t *testing.T) {
	cfg, problems := Parse([]byte(mailbox + `
[webhook crm]
url = https://crm.example.com/hooks/bounced?token=abc
secret_env = CRM_WEBHOOK_SECRET
[webhook local]
url = http://127.0.0.1:9000/bounces
secret_file = /run/secrets/local
batch_size = 10
timeout = 3s
poll_interval = 1m
start = Beginning
[webhook lan]
url = http://10.0.0.7/hook
allow_plaintext = true
secret_env = S
`))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(cfg.Webhooks) != 3 {
		t.Fatalf("webhooks = %+v", cfg.Webhooks)
	}
	crm, local := cfg.Webhooks[0], cfg.Webhooks[1]
	if crm.Name != "crm" || crm.Line != 6 || crm.Secret.Env != "CRM_WEBHOOK_SECRET" || crm.BatchSize != DefaultWebhookBatchSize ||
		crm.Timeout != DefaultWebhookTimeout || crm.PollInterval != DefaultWebhookPollInterval || crm.Start != WebhookStartNow {
		t.Errorf("crm = %+v", crm)
	}
	if local.Secret.File != "/run/secrets/local" || local.BatchSize != 10 || local.Timeout != 3*time.Second ||
		local.PollInterval != time.Minute || local.Start != WebhookStartBeginning {
		t.Errorf("local = %+v", local)
	}
	if got := crm.Redacted(); got != "https://crm.example.com/hooks/bounced" {
		t.Errorf("Redacted = %q", got)
	}
}

func TestEveryWebhookProblemIsReported(t *testing.T) {
	_, problems := Parse([]byte(mailbox + `
[webhook]
url = https://x.example
[webhook plain]
url = http://crm.example.com/hook
secret = hunter2
batch_size = 0
timeout = never
start = yesterday
colour = blue
[webhook plain]
[webhook nothing]
[webhook both]
url = ftp://crm.example.com/
secret_env = S
secret_file = /s
[webhook user]
url = https://me:pw@crm.example.com/
secret_env = S
[webhook bad]
url = "https://crm.example.com/%zz?token=hunter3"
secret_env = S
`))
	want := []string{
		`line 6: a webhook section needs a name`,
		`line 10: webhook "plain": secret: secrets do not belong in the file: use secret_env or secret_file`,
		`line 11: webhook "plain": batch_size:`,
		`line 12: webhook "plain": timeout:`,
		`line 13: webhook "plain": start: "yesterday" is not one of now, beginning`,
		`line 14: webhook "plain": colour: unknown setting`,
		`line 8: webhook "plain": url is plain http to crm.example.com`,
		`line 8: webhook "plain": secret_env or secret_file is required`,
		`line 15: webhook "plain" defined twice (first on line 8)`,
		`line 16: webhook "nothing": url is required`,
		`line 16: webhook "nothing": secret_env or secret_file is required`,
		`line 17: webhook "both": url must be https://`,
		`line 17: webhook "both": set only one of secret_env and secret_file`,
		`line 21: webhook "user": url must not carry a user or password`,
		`line 24: webhook "bad": url is not a URL`,
	}
	text := problems.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q in:\n%s", w, text)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(problems), len(want), text)
	}
	for _, secret := range []string{"hunter2", "hunter3", ":pw@"} {
		if strings.Contains(text, secret) {
			t.Errorf("a problem repeats the secret %q:\n%s", secret, text)
		}
	}
}

func TestWebhookPlaintextToLoopbackAllowed(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/h", "http://localhost/h", "http://[::1]:9/h", "https://crm.example.com/h"} {
		_, problems := Parse([]byte(mailbox + "[webhook w]\nurl = " + u + "\nsecret_env = S\n"))
		if len(problems) > 0 {
			t.Errorf("%s: %v", u, problems)
		}
	}
}

func TestWebhookSecretIsChecked(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	good := filepath.Join(dir, "good")
	os.WriteFile(empty, []byte("\n"), 0o600)
	os.WriteFile(good, []byte("s3cret\n"), 0o600)
	cfg, problems := Parse([]byte(mailbox + `
[webhook unset]
url = https://a.example/
secret_env = BOUNCED_TEST_SURELY_UNSET
[webhook missing]
url = https://a.example/
secret_file = ` + filepath.Join(dir, "missing") + `
[webhook empty]
url = https://a.example/
secret_file = ` + empty + `
[webhook good]
url = https://a.example/
secret_file = ` + good + `
`))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	t.Setenv("P", "pw")
	t.Setenv("DATABASE_URL", "postgres://db")
	got := cfg.CheckEnvironment(Uses{Database: true, Daemon: true})
	text := got.Error()
	for _, w := range []string{
		`webhook "unset": reading secret: environment variable BOUNCED_TEST_SURELY_UNSET is not set`,
		`webhook "missing": reading secret file:`,
		`webhook "empty": secret is empty`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(got), text)
	}
	s, err := cfg.Webhooks[3].Secret.Read()
	if err != nil || s.Reveal() != "s3cret" {
		t.Errorf("secret = %v, %v", s, err)
	}
}

// TestExampleWebhookIsValid uncomments the example file's webhook section:
// what the documentation shows must load.
func TestExampleWebhookIsValid(t *testing.T) {
	data, err := os.ReadFile("../bounced.example.conf")
	if err != nil {
		t.Fatal(err)
	}
	var section []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# [webhook ") {
			section = []string{}
		}
		if section == nil {
			continue
		}
		if !strings.HasPrefix(line, "# ") {
			break
		}
		section = append(section, strings.TrimPrefix(line, "# "))
	}
	if len(section) == 0 {
		t.Fatal("no commented [webhook NAME] section in the example file")
	}
	cfg, problems := Parse([]byte(mailbox + strings.Join(section, "\n")))
	if len(problems) > 0 || len(cfg.Webhooks) != 1 {
		t.Fatalf("example webhook: %v\n%s", problems, strings.Join(section, "\n"))
	}
	if w := cfg.Webhooks[0]; w.Secret.Env == "" || !strings.HasPrefix(w.URL, "https://") {
		t.Errorf("example webhook = %+v", w)
	}
}
