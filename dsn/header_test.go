package dsn

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"
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

// readEntityInputs are header blocks that take readEntity's header reader
// through go-message's corner cases.
var readEntityInputs = []string{
	"Subject: hi\r\nFrom: a@example.org\r\n\r\nbody\r\n",
	"subject:  folded\r\n  over\r\n\tlines \r\nSUBJECT: second\r\n\r\nbody",
	" leading space\r\nSubject: x\r\n\r\n",
	"Subject: x\r\nnot a field\r\n\r\n",
	"Subject: x\r\nBad Key: y\r\n\r\n",
	"Subject: x\r\n: empty key\r\nTo: b@example.org\r\n\r\n",
	"Subject: no blank line",
	"Subject: x\nFrom: y\n\nLF only",
	"Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"b\"\r\n\r\n--b\r\n",
	"X-Long: " + strings.Repeat("x", 9000) + "\r\nSubject: after\r\n\r\n",
	"Subject: " + strings.Repeat("y", 300<<10) + "\r\n\r\n",
	// Found by FuzzReadEntity: a line cut short by the size limit, with no
	// colon, is malformed before it is too big.
	"Subject: " + strings.Repeat("y", 63000) + "\xf7\t\n\xf1O-" + strings.Repeat("y", 244000) + "\r\n\r\n",
	"Subject: =?iso-8859-1?q?caf=E9?=\r\nX-Failed-Recipients: a@example.org\r\n\r\n",
	"Subject: x\r\n\r",
	"",
	"\r\n",
}

// TestReadEntityMatchesGoMessage: readEntity reads every header the way
// go-message's ReadWithOptions does, field values and errors alike, and
// leaves the body at the same place.
func TestReadEntityMatchesGoMessage(t *testing.T) {
	for _, in := range readEntityInputs {
		checkReadEntity(t, in)
	}
}

func FuzzReadEntity(f *testing.F) {
	for _, in := range readEntityInputs {
		f.Add(in)
	}
	f.Fuzz(checkReadEntity)
}

func checkReadEntity(t *testing.T, in string) {
	want, wantErr := message.ReadWithOptions(strings.NewReader(in), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	got, fields, release, gotErr := readEntity(strings.NewReader(in), maxHeaderBytes)
	defer release()
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, want %v", in, gotErr, wantErr)
	}
	if want == nil || got == nil {
		if (want == nil) != (got == nil) {
			t.Fatalf("%q: entity %v, want %v", in, got, want)
		}
		return
	}
	for _, k := range topFields {
		if k == "Content-Type" || k == "Content-Transfer-Encoding" || k == "Content-Disposition" {
			if g, w := got.Header.Get(k), want.Header.Get(k); g != w {
				t.Errorf("%q: entity %s = %q, want %q", in, k, g, w)
			}
		}
		w, err := want.Header.Text(k)
		if err != nil || w == "" {
			w = want.Header.Get(k)
		}
		if g, w := newHeaderView(fields).get(k), strings.TrimSpace(w); g != w {
			t.Errorf("%q: %s = %q, want %q", in, k, g, w)
		}
		if g, w := newHeaderView(fields).has(k), want.Header.Has(k); g != w {
			t.Errorf("%q: has %s = %v, want %v", in, k, g, w)
		}
	}
	gb, gerr := io.ReadAll(got.Body)
	wb, werr := io.ReadAll(want.Body)
	if string(gb) != string(wb) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Errorf("%q: body %q (%v), want %q (%v)", in, gb, gerr, wb, werr)
	}
}
