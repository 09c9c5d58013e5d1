package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	rpKey1 = "0123456789abcdef0123456789abcdef-key-one"
	rpKey2 = "fedcba9876543210fedcba9876543210-key-two"
)

func TestReturnPathSettings(t *testing.T) {
	cfg, problems := Parse([]byte(testMailbox + `
return_path = bounces@example.com
return_path_key_env = BOUNCED_TEST_RP_KEYS
return_path_max_age = 14d
own_domains = Example.com, mail.example.com
unsigned_bounces = trust
`))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	m := cfg.Mailboxes[0]
	if m.ReturnPath != "bounces@example.com" || m.ReturnPathKeys.Env != "BOUNCED_TEST_RP_KEYS" ||
		m.ReturnPathMaxAge != 14*24*time.Hour || !slices.Equal(m.OwnDomains, []string{"example.com", "mail.example.com"}) ||
		m.UnsignedBounces != UnsignedTrust {
		t.Errorf("mailbox = %+v", m)
	}

	cfg, problems = Parse([]byte(testMailbox))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if m := cfg.Mailboxes[0]; m.ReturnPathMaxAge != DefaultReturnPathMaxAge || m.UnsignedBounces != UnsignedEvidence || m.ReturnPathKeys.Configured() {
		t.Errorf("defaults: %+v", m)
	}
}

func TestReturnPathProblems(t *testing.T) {
	_, problems := Parse([]byte(testMailbox + `
return_path = not-an-address
return_path_key = 0123456789abcdef0123456789abcdef-sekrit
return_path_key_env = A
return_path_key_file = /run/k
return_path_max_age = 36h
own_domains = example.com, bad domain
unsigned_bounces = maybe
`))
	text := problems.Error()
	for _, w := range []string{
		`line 7: mailbox "a": return_path: return path "not-an-address" is not local@domain`,
		"line 8: mailbox \"a\": return_path_key: keys do not belong in the file",
		`line 2: mailbox "a": set only one of return_path_key_env and return_path_key_file`,
		`line 11: mailbox "a": return_path_max_age: "36h" is not a whole number of days`,
		`line 12: mailbox "a": own_domains: "bad domain" is not a domain name`,
		`line 13: mailbox "a": unsigned_bounces: "maybe" is not one of evidence, trust`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	if strings.Contains(text, "sekrit") {
		t.Errorf("a problem shows the key:\n%s", text)
	}

	_, problems = Parse([]byte(testMailbox + "return_path_key_env = A\n"))
	if !strings.Contains(problems.Error(), "a return-path key needs return_path") {
		t.Errorf("a key without return_path: %v", problems)
	}
	_, problems = Parse([]byte(testMailbox + "return_path = " + strings.Repeat("b", 40) + "@example.com\n"))
	if !strings.Contains(problems.Error(), "no room for a tag") {
		t.Errorf("a long return path: %v", problems)
	}
}

func TestReturnPathKeys(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "keys", "# rotated 2026-12-01\n"+rpKey1+"\n\n"+rpKey2+"\n")
	t.Setenv("BOUNCED_TEST_RP_KEYS", rpKey1+" "+rpKey2)
	t.Setenv("BOUNCED_TEST_RP_SHORT", "too-short-a-key-sekrit")
	t.Setenv("BOUNCED_TEST_PW", "pw")

	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, src := range []string{"return_path_key_env = BOUNCED_TEST_RP_KEYS", "return_path_key_file = " + file} {
		cfg, problems := Parse([]byte(testMailbox + "return_path = bounces@example.com\n" + src + "\n"))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if p := cfg.CheckEnvironment(Uses{}); len(p) > 0 {
			t.Fatalf("%s: %v", src, p)
		}
		m := cfg.Mailboxes[0]
		s, err := m.ReturnPathScheme()
		if err != nil || s == nil {
			t.Fatalf("%s: ReturnPathScheme = %v, %v", src, s, err)
		}
		// The first key signs, the second verifies.
		signed, err := s.Sign("alice@customer.example", now)
		if err != nil {
			t.Fatal(err)
		}
		one := Mailbox{Name: "a", ReturnPath: "bounces@example.com", ReturnPathKeys: ReturnPathKeySource{Env: "BOUNCED_TEST_RP_ONE"}}
		t.Setenv("BOUNCED_TEST_RP_ONE", rpKey1)
		s1, err := one.ReturnPathScheme()
		if err != nil {
			t.Fatal(err)
		}
		if err := s1.Verify(signed, "alice@customer.example", now); err != nil {
			t.Errorf("%s: the first key does not sign: %v", src, err)
		}
		if m.ForgeryWarning() != "" {
			t.Errorf("%s: warns %q with a key and no trust", src, m.ForgeryWarning())
		}
		m.UnsignedBounces = UnsignedTrust
		if !strings.Contains(m.ForgeryWarning(), "unsigned_bounces = trust") {
			t.Errorf("no warning with trust: %q", m.ForgeryWarning())
		}
	}

	for _, c := range []struct{ src, want string }{
		{"return_path_key_env = BOUNCED_TEST_RP_UNSET", "environment variable BOUNCED_TEST_RP_UNSET is not set"},
		{"return_path_key_env = BOUNCED_TEST_RP_SHORT", "key 1 of environment variable BOUNCED_TEST_RP_SHORT is shorter than 32 characters"},
		{"return_path_key_file = " + filepath.Join(dir, "missing"), "reading return-path key file"},
		{"return_path_key_file = " + writeFile(t, dir, "comments", "# none yet\n\n"), "return_path_key_file " + filepath.Join(dir, "comments") + " holds no key"},
		{"return_path_key_file = " + writeFile(t, dir, "blank", rpKey1+" sekrit\n"), "reading return-path key: return_path_key_file " + filepath.Join(dir, "blank") + " line 1: a key must not contain blanks"},
		{"return_path_key_env = BOUNCED_TEST_RP_SHORT", "(make one with: openssl rand -hex 32)"},
	} {
		cfg, problems := Parse([]byte(testMailbox + "return_path = bounces@example.com\n" + c.src + "\n"))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		got := cfg.CheckEnvironment(Uses{SkipIMAP: true}).Error()
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: CheckEnvironment = %q, want %q", c.src, got, c.want)
		}
		if strings.Contains(got, "sekrit") {
			t.Errorf("a problem shows the key: %s", got)
		}
	}

	cfg, _ := Parse([]byte(testMailbox))
	if w := cfg.Mailboxes[0].ForgeryWarning(); !strings.Contains(w, "suppressions can be forged") {
		t.Errorf("no warning without a key: %q", w)
	}
	if s, err := cfg.Mailboxes[0].ReturnPathScheme(); s != nil || err != nil {
		t.Errorf("ReturnPathScheme without a key = %v, %v", s, err)
	}
}
