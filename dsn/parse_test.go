package dsn

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const sampleDSN = "From: MAILER-DAEMON@mail.example.com\r\n" +
	"To: bounces+jane=example.org@lists.example.com\r\n" +
	"Subject: Undelivered Mail Returned to Sender\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"<jane@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 user unknown\r\n" +
	"--b1\r\n" +
	"Content-Type: message/delivery-status\r\n" +
	"\r\n" +
	"Reporting-MTA: dns; mail.example.com\r\n" +
	"\r\n" +
	"Final-Recipient: rfc822; jane@Example.ORG\r\n" +
	"Action: failed\r\n" +
	"Status: 5.1.1\r\n" +
	"Remote-MTA: dns; mx.example.org\r\n" +
	"Diagnostic-Code: smtp; 550 5.1.1 <jane@example.org>:\r\n" +
	"    Recipient address rejected: User unknown\r\n" +
	"--b1\r\n" +
	"Content-Type: text/rfc822-headers\r\n" +
	"\r\n" +
	"Message-ID: <abc@example.com>\r\n" +
	"From: news@example.com\r\n" +
	"To: jane@example.org\r\n" +
	"X-Campaign-Id: 42\r\n" +
	"--b1--\r\n"

func TestParseDSNFields(t *testing.T) {
	rep, err := Parse(strings.NewReader(sampleDSN), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != KindDSN || rep.ReportingMTA != "mail.example.com" {
		t.Fatalf("kind %q, reporting MTA %q", rep.Kind, rep.ReportingMTA)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("%d recipients, want 1", len(rep.Recipients))
	}
	r := rep.Recipients[0]
	if r.Address != "jane@example.org" || r.Status != "5.1.1" || r.SMTPCode != 550 || r.Action != ActionFailed || r.RemoteMTA != "mx.example.org" {
		t.Errorf("recipient %+v", r)
	}
	if !strings.Contains(r.Diagnostic, "Recipient address rejected") {
		t.Errorf("folded diagnostic not joined: %q", r.Diagnostic)
	}
	if rep.Original.MessageID != "<abc@example.com>" || rep.Original.Headers["X-Campaign-Id"] != "42" {
		t.Errorf("original %+v", rep.Original)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse(strings.NewReader(sampleDSN), Options{MaxSize: 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	// Exactly at the limit is fine.
	if _, err := Parse(strings.NewReader(sampleDSN), Options{MaxSize: int64(len(sampleDSN))}); err != nil {
		t.Fatalf("message of exactly MaxSize: %v", err)
	}
}

func TestParseTruncatedInput(t *testing.T) {
	cut := sampleDSN[:strings.Index(sampleDSN, "Remote-MTA")]
	rep, err := Parse(strings.NewReader(cut), Options{Truncated: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].Address != "jane@example.org" {
		t.Fatalf("truncated DSN: %+v", rep.Recipients)
	}
}

type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestParseReadError(t *testing.T) {
	_, err := Parse(failingReader{strings.NewReader(sampleDSN)}, Options{})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v, want the read error", err)
	}
}

func TestParseVERPFallback(t *testing.T) {
	msg := "From: MAILER-DAEMON@mx.example.net\nTo: bounces+jane=example.org@lists.example.com\n" +
		"Subject: failure notice\n\nYour message could not be delivered. 550 mailbox unavailable\n"
	rep, err := Parse(strings.NewReader(msg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].Address != "jane@example.org" {
		t.Fatalf("VERP recipient not decoded: %+v", rep.Recipients)
	}
}

func TestFindStatus(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 user unknown":           "5.1.1",
		"host 192.0.2.45 said: 4.2.2 full": "4.2.2",
		"version 10.5.1.1 only":            "",
		"#5.5.0":                           "5.5.0",
		"550-5.7.26 DMARC":                 "5.7.26",
		"code 5.7.509 Access denied":       "5.7.509",
		"no code 5.1 here":                 "",
	} {
		if got, _ := findStatus(in); got != want {
			t.Errorf("findStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindReply(t *testing.T) {
	for _, c := range []struct {
		in     string
		code   int
		status string
	}{
		{"550 5.1.1 <a@example.org>... User unknown", 550, "5.1.1"},
		{"5.1.0 - Unknown address error 550-'5.7.1 <x@example.com>... Access denied'", 550, "5.7.1"},
		{"554 <a@example.org>... 550 Host unknown", 550, ""},
		{"said: 452 too many recipients", 452, ""},
		{"we waited 250 minutes", 0, ""},
	} {
		code, status := findReply(c.in)
		if code != c.code || status != c.status {
			t.Errorf("findReply(%q) = %d %q, want %d %q", c.in, code, status, c.code, c.status)
		}
	}
}

// hostileMessages are inputs built to hurt a parser.
func hostileMessages() map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"mime nested 10000 deep": func() io.Reader {
			var b strings.Builder
			b.WriteString("From: a@example.com\r\n")
			for i := range 10000 {
				b.WriteString("Content-Type: multipart/mixed; boundary=\"b")
				b.WriteString(strings.Repeat("x", i%50))
				b.WriteString("\"\r\n\r\n--b")
				b.WriteString(strings.Repeat("x", i%50))
				b.WriteString("\r\n")
			}
			b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
			return strings.NewReader(b.String())
		},
		"1 MB header line": func() io.Reader {
			return strings.NewReader("Subject: " + strings.Repeat("a", 1<<20) + "\r\n\r\nbody\r\n")
		},
		"broken base64": func() io.Reader {
			return strings.NewReader("From: MAILER-DAEMON@example.com\nSubject: Undelivered Mail\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!not base64 at all@@@\n")
		},
		"unknown charset": func() io.Reader {
			return strings.NewReader("From: MAILER-DAEMON@example.com\nSubject: failure notice\nContent-Type: text/plain; charset=x-klingon\n\n<a@example.org>: 550 5.1.1 unknown\n")
		},
		"endless boundary-less multipart": func() io.Reader {
			return strings.NewReader("Content-Type: multipart/report; report-type=delivery-status\n\n" + strings.Repeat("Final-Recipient: rfc822; a@b.example\n", 20000))
		},
		"header only":  func() io.Reader { return strings.NewReader("Subject: x") },
		"empty":        func() io.Reader { return strings.NewReader("") },
		"binary noise": func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte{0, 0xff, '\n', ':', '@'}, 100000)) },
	}
}

func TestParseHostile(t *testing.T) {
	for name, input := range hostileMessages() {
		t.Run(name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				rep, err := Parse(input(), Options{})
				if err == nil && rep == nil {
					t.Error("nil report without an error")
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Parse did not return within 10 s")
			}
		})
	}
}

// attachmentMessage streams a bounce with a base64 attachment of n bytes,
// without holding the attachment in memory.
func attachmentMessage(n int64) io.Reader {
	head := "From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail\r\n" +
		"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n" +
		"<jane@example.org>: 550 5.1.1 user unknown\r\n--zz\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n"
	line := strings.Repeat("QUJD", 19) + "\r\n" // 78 bytes a line
	body := io.LimitReader(&repeatReader{s: line}, n)
	return io.MultiReader(strings.NewReader(head), body, strings.NewReader("\r\n--zz--\r\n"))
}

type repeatReader struct {
	s   string
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

// TestParseMemoryIndependentOfSize parses a bounce with a 5 MB and with a
// 50 MB attachment and checks that the bytes allocated do not grow with it.
func TestParseMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 55 MB")
	}
	allocated := func(n int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rep, err := Parse(attachmentMessage(n), Options{MaxSize: 100 << 20})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("parsing with a %d-byte attachment: %v", n, err)
		}
		if len(rep.Recipients) != 1 || rep.Recipients[0].Address != "jane@example.org" {
			t.Fatalf("recipients %+v", rep.Recipients)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(5<<20), allocated(50<<20)
	t.Logf("allocated %d KiB for a 5 MB attachment, %d KiB for 50 MB", small>>10, large>>10)
	if large > 4<<20 || large > 2*small+1<<20 {
		t.Errorf("memory grows with the attachment: %d bytes for 5 MB, %d for 50 MB", small, large)
	}
	// Over the default bound it is an error, without reading it into memory.
	if _, err := Parse(attachmentMessage(50<<20), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("50 MB message with the default limit: got %v, want ErrTooLarge", err)
	}
}

// fuzzSeeds are the golden test messages plus the hostile ones, small.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(sampleDSN))
	f.Add([]byte("From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n<a@b.example>:\n550 5.1.1 no such user\n--- Below this line is a copy of the message.\n\nFrom: c@d.example\n"))
	f.Add([]byte("Content-Type: multipart/report; report-type=feedback-report; boundary=q\n\n--q\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nOriginal-Rcpt-To: a@b.example\n--q--\n"))
}

// FuzzParse checks that no input makes Parse panic, hang or return neither
// a report nor an error, and that results always carry a known reason.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(bytes.NewReader(data), Options{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		if rep == nil {
			t.Fatal("nil report without an error")
		}
		for _, r := range rep.Results() {
			if r.Reason == "" || r.Verdict == "" || r.Scope == "" {
				t.Fatalf("incomplete classification: %+v", r)
			}
			if r.Status != "" {
				if st, _ := findStatus(r.Status); st != r.Status {
					t.Fatalf("status %q is not an RFC 3463 code", r.Status)
				}
			}
		}
	})
}

// BenchmarkParse parses every message of the corpus; it reports messages
// per second besides MB/s and allocations.
//
//	go test ./dsn -run '^$' -bench BenchmarkParse -benchmem -count 6 | tee bench.txt
func BenchmarkParse(b *testing.B) {
	dir := filepath.Join(corpusDir(b), "emails")
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus messages in %s: %v", dir, err)
	}
	msgs := make([][]byte, 0, len(files))
	var total int64
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, data)
		total += int64(len(data))
	}
	b.SetBytes(total / int64(len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(bytes.NewReader(msgs[i%len(msgs)]), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestNoRecipientIsUnknown holds the parse contract: a bounce that names no
// recipient still gives one result, with reason unknown and nothing to
// suppress, however clear its words are.
func TestNoRecipientIsUnknown(t *testing.T) {
	msg := "From: MAILER-DAEMON@mx.example.net\nTo: news@example.com\nSubject: Undelivered Mail\n\n" +
		"550 5.1.1 User unknown\n"
	rep, err := Parse(strings.NewReader(msg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Results()
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	if r := res[0]; r.Recipient != "" || r.Reason != ReasonUnknown || r.Verdict != VerdictIgnore || r.Status != "5.1.1" {
		t.Errorf("result %+v: want no recipient, reason unknown, verdict ignore, status kept", r)
	}
}

// TestTextAddressRules covers the rules that pick failed recipients out of
// a bounce's own words.
func TestTextAddressRules(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"554 <a@example.org>... User unknown", "a@example.org"},
		{"a@example.org Invalid Address, ERROR_CODE :550", "a@example.org"},
		{"a@example.org: 550 5.1.1 <a@example.org>: user does not exist", "a@example.org"}, // OpenSMTPD
		{"a@example.org: see below", ""},
	} {
		if got := listedRecipient(tc.line); got != tc.want {
			t.Errorf("listedRecipient(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
	for local, want := range map[string]bool{
		"list-request": true, "list-ctl": true, "list-owner": true, "owner-list": true,
		"jane.doe": false, "request": false, "ctl-team": false,
	} {
		if got := isListCommandLocal(local); got != want {
			t.Errorf("isListCommandLocal(%q) = %v, want %v", local, got, want)
		}
	}
	if got := findAddresses("--list@example.org, Be Seeing You!"); len(got) != 1 || got[0].addr != "list@example.org" {
		t.Errorf("findAddresses kept the dash run: %+v", got)
	}
}

// TestParseCleansText checks that raw 8-bit bytes and NULs in a bounce come
// out as valid UTF-8 without NUL: PostgreSQL rejects both in text columns.
func TestParseCleansText(t *testing.T) {
	msg := "From: MAILER-DAEMON@x.example\nSubject: Undelivered \xff Mail\nContent-Type: text/plain; charset=x-foo\n\n" +
		"<jane@example.org>: 550 5.1.1 unknown \xff\xfe user \x00 here\n"
	rep, err := Parse(strings.NewReader(msg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("recipients %+v", rep.Recipients)
	}
	for _, s := range []string{rep.Subject, rep.Recipients[0].Diagnostic, rep.Recipients[0].Address} {
		if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
			t.Errorf("%q is not clean UTF-8", s)
		}
	}
	if !strings.Contains(rep.Recipients[0].Diagnostic, "unknown \uFFFD user  here") {
		t.Errorf("diagnostic %q", rep.Recipients[0].Diagnostic)
	}
}

// A part's header is bounded like the message's own: a hostile bounce
// cannot make the parser hold a header line of many megabytes.
func TestPartHeaderIsBounded(t *testing.T) {
	for name, header := range map[string]string{
		"one long line":   "X-Filler: " + strings.Repeat("a", 8<<20) + "\r\n",
		"many short ones": strings.Repeat("X-Filler: "+strings.Repeat("a", 70)+"\r\n", (8<<20)/82),
	} {
		t.Run(name, func(t *testing.T) {
			msg := "From: MAILER-DAEMON@mx.example.com\r\nTo: a@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
				"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
				"--b\r\n" + header + "Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _ = Parse(strings.NewReader(msg), Options{})
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("parsing a message with an 8 MiB part header allocated %d MiB", grew>>20)
			}
		})
	}
}

// TestAddressHygiene: only a valid RFC 5321 mailbox may be suppressed, with
// what servers wrap around it removed.
func TestAddressHygiene(t *testing.T) {
	for in, want := range map[string]string{
		"SMTP=ann@Example.ORG":      "ann@example.org",
		"smtp:ann@example.org":      "ann@example.org",
		"rfc822;<ann@example.org>":  "ann@example.org",
		"RFC822; ann@example.org.":  "ann@example.org",
		"<ann@example.org>.":        "ann@example.org",
		"\"Ann\" <Ann@Example.org>": "Ann@example.org",
	} {
		if got := normalizeAddress(in); got != want {
			t.Errorf("normalizeAddress(%q) = %q, want %q", in, got, want)
		}
	}
	for _, a := range []string{"ann@example.org", "ann.b+tag@mail.example.co.uk", "jane..doe@example.org",
		"\"ann smith\"@example.org", "ann@[192.0.2.1]", "ünal@exämple.de"} {
		if !isValidAddress(a) {
			t.Errorf("isValidAddress(%q) = false, want true", a)
		}
	}
	for _, a := range []string{"@mx.example.org", "ann@", "ann@localhost", "ann@192.0.2.1", ".ann@example.org",
		"ann.@example.org", "ann@-example.org", "ann@example..org", "/var/mail/ann@example.org", "|prog@example.org",
		"ann smith@example.org", "ann@exa mple.org", strings.Repeat("a", 65) + "@example.org"} {
		if isValidAddress(a) {
			t.Errorf("isValidAddress(%q) = true, want false", a)
		}
	}
}

// TestDSNRecipientsWithoutBlankLine: a second Original-Recipient in one
// group starts the next recipient, whose fields are its own.
func TestDSNRecipientsWithoutBlankLine(t *testing.T) {
	_, rs := decodeDeliveryStatus("Original-Recipient: rfc822;a@example.org\nFinal-Recipient: rfc822;a@example.org\nAction: failed\nStatus: 5.2.1\n" +
		"Original-Recipient: rfc822;b@example.org\nFinal-Recipient: rfc822;b@example.org\nAction: failed\nStatus: 5.2.2\n")
	if len(rs) != 2 || rs[0].OriginalRecipient != "a@example.org" || rs[0].Status != "5.2.1" ||
		rs[1].Address != "b@example.org" || rs[1].OriginalRecipient != "b@example.org" || rs[1].Status != "5.2.2" {
		t.Errorf("decodeDeliveryStatus = %+v", rs)
	}
}
