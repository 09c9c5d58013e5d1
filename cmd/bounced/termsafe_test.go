package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ümlauts, 日本": "plain text, ümlauts, 日本",
		"\x1b[31mred\x1b[0m":      `\x1b[31mred\x1b[0m`,
		"bell\a tab\t nl\n":       `bell\x07 tab\x09 nl\x0a`,
		"c1 \u009b2J":             `c1 \u009b2J`,
		"bad \xff byte":           `bad \xff byte`,
		"rtl \u202egnp.exe":       `rtl \u202egnp.exe`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseEscapesBadHeaderOnStderr: a message whose header cannot be read
// is reported on stderr without its raw bytes: terminal escapes come out
// written as \x1b, never as the escape itself.
func TestParseEscapesBadHeaderOnStderr(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.eml")
	msg := "From: a@example.org\r\nSubject: hi\r\n\x1b]0;pwned\x07\x1b[2J\x9b31m: value\r\n\r\nbody\r\n"
	if err := os.WriteFile(bad, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t.Context(), "parse", bad)
	for _, s := range []string{out, errOut} {
		if strings.ContainsAny(s, "\x1b\x07\x9b") || strings.Contains(s, "\u009b") {
			t.Errorf("output carries raw control bytes: exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	}
	if errOut != "" && !strings.Contains(errOut, `\x1b`) {
		t.Errorf("stderr %q: want the escape written out", errOut)
	}
}
