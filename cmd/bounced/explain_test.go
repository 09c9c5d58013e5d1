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
		{[]string{"explain", "552"}, []string{"552", "exceeded storage allocation", "mailbox_full", "soft", "ambiguous"}},
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
