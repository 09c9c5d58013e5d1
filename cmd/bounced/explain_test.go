package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bounced/bounced/dsn"
)

// runCLI runs the binary in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExplainCLI(t *testing.T) {
	t.Setenv("LANG", "C")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"explain", "5.7.26"}, []string{"5.7.26", "Multiple authentication checks failed", "auth_failure", "Scope:", "sender", "alert", "DMARC", "How to fix it"}},
		{[]string{"explain", "552"}, []string{"552", "exceeded storage allocation", "mailbox_full", "soft", "message_too_large", "5.3.4"}},
		{[]string{"explain", "5.7.1"}, []string{"5.7.1", "policy_rejected", "ambiguous"}},
		{[]string{"explain", "550 5.1.1"}, []string{"550", "5.1.1", "Bad destination mailbox address", "user_unknown", "suppress"}},
		{[]string{"explain", "550", "5.1.1"}, []string{"user_unknown"}},
		{[]string{"explain", "mailbox_full", "--lang", "de"}, []string{"mailbox_full", "Postfach voll", "Zuständig:", "Was zu tun ist"}},
		{[]string{"explain", "--lang=de", "Blocklisted"}, []string{"blocklisted", "Sperrliste"}},
		{[]string{"explain", "relay-denied"}, []string{"relay_denied", "Relaying denied"}},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestExplainCLILangFromEnv(t *testing.T) {
	t.Setenv("LANG", "de_DE.UTF-8")
	_, out, _ := runCLI(t, "explain", "user_unknown")
	if !strings.Contains(out, "Empfänger unbekannt") {
		t.Errorf("LANG=de_DE did not select German:\n%s", out)
	}
	_, out, _ = runCLI(t, "explain", "user_unknown", "--lang", "en")
	if !strings.Contains(out, "Unknown recipient") || strings.Contains(out, "Empfänger unbekannt") {
		t.Errorf("--lang en did not win over LANG:\n%s", out)
	}
}

func TestExplainCLIErrors(t *testing.T) {
	t.Setenv("LANG", "C")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain"}, "missing CODE or REASON"},
		{[]string{"explain", "no_such_thing"}, "neither a reason nor an SMTP code"},
		{[]string{"explain", "999"}, "neither a reason nor an SMTP code"},
		{[]string{"explain", "552", "--lang", "fr"}, "unknown language"},
		{[]string{"explain", "--bogus", "552"}, "flag provided but not defined"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout on error: %q", tc.args, out)
		}
	}
}

func TestExplainCLIHelp(t *testing.T) {
	code, out, errOut := runCLI(t, "explain", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{"Usage: bounced explain", "--lang", "5.7.26", "mailbox_full", "user_unknown, mailbox_disabled"} {
		if !strings.Contains(out, w) {
			t.Errorf("--help lacks %q:\n%s", w, out)
		}
	}
}

func TestExplainCLIWrapsLines(t *testing.T) {
	_, out, _ := runCLI(t, "explain", "auth_failure", "--lang", "de")
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("line of %d characters: %q", n, line)
		}
	}
}

func TestExplainCLIEveryReason(t *testing.T) {
	for _, lang := range dsn.Languages {
		for _, r := range dsn.Reasons() {
			code, out, errOut := runCLI(t, "explain", string(r), "--lang", lang)
			ex, err := dsn.Explain(r, lang)
			if err != nil {
				t.Fatal(err)
			}
			if code != 0 || errOut != "" || !strings.Contains(out, ex.Title) || !strings.Contains(out, string(ex.Verdict)) {
				t.Errorf("explain %s --lang %s: exit %d, stderr %q, output:\n%s", r, lang, code, errOut, out)
			}
		}
	}
}

// TestExplainCLISeedCodes runs `bounced explain` for every code of the seed
// article in both languages and checks the key facts each must teach.
func TestExplainCLISeedCodes(t *testing.T) {
	t.Setenv("LANG", "C")
	want := map[string]map[string][]string{
		"5.7.26": {"en": {"auth_failure", "SPF", "DKIM", "DMARC", "_dmarc", "Permanent:   yes"}, "de": {"auth_failure", "SPF", "DKIM", "DMARC", "_dmarc", "Dauerhaft:   ja"}},
		"550":    {"en": {"user_unknown", "mailbox_disabled", "host_unknown", "typos"}, "de": {"user_unknown", "mailbox_disabled", "host_unknown", "Tippfehler"}},
		"554":    {"en": {"blocklisted", "Look up the lists", "delisting", "Spamhaus", "spam_content", "auth_failure"}, "de": {"blocklisted", "Sperrlisten prüfen", "Delisting", "Spamhaus", "spam_content", "auth_failure"}},
		"421":    {"en": {"server_error", "rate_limited", "retries", "Permanent:   no"}, "de": {"server_error", "rate_limited", "erneut", "Dauerhaft:   nein"}},
		"450":    {"en": {"greylisted", "Greylisting", "retry", "Permanent:   no"}, "de": {"greylisted", "Greylisting", "erneut", "Dauerhaft:   nein"}},
		"451":    {"en": {"greylisted", "Greylisting", "Retry", "Permanent:   no"}, "de": {"greylisted", "Greylisting", "Erneut senden", "Dauerhaft:   nein"}},
		"553":    {"en": {"bad_sender_address", "bad_recipient_syntax", "From header"}, "de": {"bad_sender_address", "bad_recipient_syntax", "From-Header"}},
		"552":    {"en": {"mailbox_full", "message_too_large", "5.3.4", "5.2.2"}, "de": {"mailbox_full", "message_too_large", "5.3.4", "5.2.2"}},
	}
	for _, code := range dsn.GuidedCodes {
		for _, lang := range dsn.Languages {
			exit, out, errOut := runCLI(t, "explain", code, "--lang", lang)
			if exit != 0 || errOut != "" {
				t.Errorf("explain %s --lang %s: exit %d, stderr %q", code, lang, exit, errOut)
				continue
			}
			if len(want[code][lang]) == 0 {
				t.Errorf("explain %s --lang %s: no facts to check", code, lang)
			}
			for _, w := range want[code][lang] {
				if !strings.Contains(out, w) {
					t.Errorf("explain %s --lang %s: output lacks %q:\n%s", code, lang, w, out)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if n := len([]rune(line)); n > 100 {
					t.Errorf("explain %s --lang %s: line of %d characters: %q", code, lang, n, line)
				}
			}
		}
	}
}

// TestExplainCLITransientNotPermanent: `explain "451 4.7.1"` names a
// temporary failure and must not call it permanent.
func TestExplainCLITransientNotPermanent(t *testing.T) {
	t.Setenv("LANG", "C")
	for _, args := range [][]string{{"451 4.7.1"}, {"451", "4.7.1"}, {"450 4.7.1"}, {"421 4.7.0"}, {"4.7.1"}, {"451 4.7.1", "--lang", "de"}} {
		_, out, _ := runCLI(t, append([]string{"explain"}, args...)...)
		if strings.Contains(out, "Permanent:   yes") || strings.Contains(out, "Dauerhaft:   ja") {
			t.Errorf("explain %v says permanent:\n%s", args, out)
		}
		if !strings.Contains(out, "Permanent:   no") && !strings.Contains(out, "Dauerhaft:   nein") {
			t.Errorf("explain %v does not say it is not permanent:\n%s", args, out)
		}
	}
}
