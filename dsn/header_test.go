package dsn

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestScanHeader(t *testing.T) {
	keep := fieldSet([]string{"X-Campaign-Id"})
	in := "Received: from a\r\n\tby b\r\nMessage-ID:\r\n <abc@example.com>\r\n" +
		"To: first@example.org\r\nTo: second@example.org\r\nnot a field line\r\n" +
		"X-Long: " + strings.Repeat("x", 40000) + "\r\n" +
		"x-campaign-id: 42\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody starts here\r\n"
	br := bufio.NewReaderSize(strings.NewReader(in), 4096)
	h, err := scanHeader(br, 1<<20, keep)
	if err != nil {
		t.Fatal(err)
	}
	hv := newHeaderView(h)
	for field, want := range map[string]string{
		"Message-Id":    "<abc@example.com>", // folded
		"To":            "first@example.org", // the first value wins
		"X-Campaign-Id": "42",                // any case
		"Subject":       "café",              // RFC 2047 decoded
		"Received":      "",                  // not kept
		"X-Long":        "",                  // longer than the buffer, skipped
	} {
		if got := hv.get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if rest, _ := io.ReadAll(br); string(rest) != "body starts here\r\n" {
		t.Errorf("reader left at %q, want the body", rest)
	}

	// A header without its blank line, and one cut by the limit, still
	// give what they hold.
	h, err = scanHeader(bufio.NewReader(strings.NewReader("From: a@example.org\nTo: b@example.org")), 1<<20, keep)
	if err != nil || newHeaderView(h).get("To") != "b@example.org" {
		t.Errorf("unterminated header: To %q, %v", newHeaderView(h).get("To"), err)
	}
	h, _ = scanHeader(bufio.NewReader(strings.NewReader("From: a@example.org\nTo: b@example.org\n\n")), 10, keep)
	if newHeaderView(h).get("To") != "" || newHeaderView(h).get("From") != "a@example.org" {
		t.Errorf("the limit was not kept: %+v", h)
	}
}
