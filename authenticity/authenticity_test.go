package authenticity

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/returnpath"
)

var (
	key    = []byte("0123456789abcdef0123456789abcdef-policy-test")
	oldKey = []byte("fedcba9876543210fedcba9876543210-policy-old")
	sent   = time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
)

func scheme(t *testing.T, keys ...[]byte) *returnpath.Scheme {
	t.Helper()
	s, err := returnpath.New(returnpath.Config{ReturnPath: "bounces@example.com", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func policy(t *testing.T, keys ...[]byte) *Policy {
	p := &Policy{ReturnPath: "bounces@example.com", OwnDomains: []string{"example.com"}, Now: func() time.Time { return sent.Add(time.Hour) }}
	if len(keys) > 0 {
		p.Scheme = scheme(t, keys...)
	}
	return p
}

func sign(t *testing.T, s *returnpath.Scheme, rcpt string, at time.Time) string {
	t.Helper()
	a, err := s.Sign(rcpt, at)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// postfixDSN is a Postfix bounce of mail to rcpts, delivered to to.
func postfixDSN(to string, rcpts ...string) string {
	var b strings.Builder
	b.WriteString("Return-Path: <>\r\nFrom: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\n" +
		"To: " + to + "\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n" +
		"be delivered to one or more recipients.\r\n\r\n")
	for _, r := range rcpts {
		b.WriteString("<" + r + ">: host mx.customer.example[192.0.2.1] said: 550 5.1.1 <" + r + ">: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)\r\n")
	}
	b.WriteString("--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.com\r\n")
	for _, r := range rcpts {
		b.WriteString("\r\nFinal-Recipient: rfc822; " + r + "\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
			"Diagnostic-Code: smtp; 550 5.1.1 <" + r + ">: Recipient address rejected: User unknown\r\n")
	}
	b.WriteString("--b1--\r\n")
	return b.String()
}

func parse(t *testing.T, p *Policy, msg string) *dsn.Report {
	t.Helper()
	rep, err := p.Parse(strings.NewReader(msg), dsn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func check(t *testing.T, name string, rep *dsn.Report, i int, auth dsn.Authenticity, verdict dsn.Verdict) {
	t.Helper()
	if len(rep.Recipients) <= i {
		t.Fatalf("%s: %d recipients", name, len(rep.Recipients))
	}
	r := rep.Recipients[i]
	if r.Authenticity != auth || r.Verdict != verdict {
		t.Errorf("%s: %s is %s/%s, want %s/%s", name, r.Address, r.Authenticity, r.Verdict, auth, verdict)
	}
}

func TestSignedBounceSuppresses(t *testing.T) {
	p := policy(t, key)
	rep := parse(t, p, postfixDSN(sign(t, p.Scheme, "Alice@Customer.Example", sent), "alice@customer.example"))
	check(t, "signed", rep, 0, dsn.AuthenticityVerified, dsn.VerdictSuppress)
}

func TestUnverifiedBouncesAreEvidence(t *testing.T) {
	p := policy(t, key)
	s := p.Scheme
	tag := sign(t, s, "alice@customer.example", sent)
	i := strings.IndexByte(tag, '+') + returnpath.DayDigits + 4
	changed := []byte(tag)
	changed[i] = "01"[map[bool]int{true: 1}[changed[i] == '0']]
	old := sign(t, s, "alice@customer.example", sent.AddDate(0, 0, -31))
	for _, c := range []struct {
		name, to string
		want     dsn.Authenticity
	}{
		{"plain return path", "bounces@example.com", dsn.AuthenticityUnsigned},
		{"another tool's VERP", "bounces+alice=customer.example@example.com", dsn.AuthenticityUnsigned},
		{"tag for another recipient", sign(t, s, "bob@customer.example", sent), dsn.AuthenticityInvalid},
		{"one character changed", string(changed), dsn.AuthenticityInvalid},
		{"older than the window", old, dsn.AuthenticityInvalid},
		{"another key", sign(t, scheme(t, oldKey), "alice@customer.example", sent), dsn.AuthenticityInvalid},
	} {
		rep := parse(t, p, postfixDSN(c.to, "alice@customer.example"))
		check(t, c.name, rep, 0, c.want, dsn.VerdictIgnore)
		// Kept as evidence: what happened is intact.
		if r := rep.Recipients[0]; r.Reason != dsn.ReasonUserUnknown || r.Scope != dsn.ScopeRecipient || !r.Permanent || r.Status != "5.1.1" {
			t.Errorf("%s: the evidence changed: %+v", c.name, r.Classification)
		}
	}
}

func TestTrustUnsigned(t *testing.T) {
	p := policy(t, key)
	p.TrustUnsigned = true
	check(t, "unsigned, trusted", parse(t, p, postfixDSN("bounces@example.com", "alice@customer.example")), 0,
		dsn.AuthenticityUnsigned, dsn.VerdictSuppress)
	check(t, "invalid, trust or not", parse(t, p, postfixDSN(sign(t, p.Scheme, "bob@customer.example", sent), "alice@customer.example")), 0,
		dsn.AuthenticityInvalid, dsn.VerdictIgnore)
}

func TestNoKey(t *testing.T) {
	p := policy(t)
	rep := parse(t, p, postfixDSN(sign(t, scheme(t, key), "alice@customer.example", sent), "alice@customer.example"))
	check(t, "no key", rep, 0, dsn.AuthenticityUnsigned, dsn.VerdictSuppress)
	var zero Policy
	rep = parse(t, &zero, postfixDSN("bounces@example.com", "alice@customer.example"))
	check(t, "zero policy", rep, 0, dsn.AuthenticityUnsigned, dsn.VerdictSuppress)
}

func TestKeyRotation(t *testing.T) {
	p := policy(t, key, oldKey)
	for name, k := range map[string][]byte{"new key": key, "old key": oldKey} {
		rep := parse(t, p, postfixDSN(sign(t, scheme(t, k), "alice@customer.example", sent), "alice@customer.example"))
		check(t, name, rep, 0, dsn.AuthenticityVerified, dsn.VerdictSuppress)
	}
}

func TestOneRecipientPerTag(t *testing.T) {
	p := policy(t, key)
	rep := parse(t, p, postfixDSN(sign(t, p.Scheme, "alice@customer.example", sent), "alice@customer.example", "bob@customer.example"))
	check(t, "the signed recipient", rep, 0, dsn.AuthenticityVerified, dsn.VerdictSuppress)
	check(t, "a recipient added to the bounce", rep, 1, dsn.AuthenticityInvalid, dsn.VerdictIgnore)
}

func TestOwnAddressesNeverAct(t *testing.T) {
	for _, withKey := range []bool{false, true} {
		p := policy(t)
		if withKey {
			p = policy(t, key)
		}
		for _, own := range []string{"bounces@example.com", "Bounces+x@Example.com", "news@example.com"} {
			to := "bounces@example.com"
			if withKey {
				to = sign(t, p.Scheme, own, sent)
			}
			rep := parse(t, p, postfixDSN(to, own))
			if r := rep.Recipients[0]; r.Verdict != dsn.VerdictIgnore || r.Reason != dsn.ReasonUserUnknown {
				t.Errorf("key %v: own address %s: verdict %s, reason %s", withKey, own, r.Verdict, r.Reason)
			}
		}
	}
}

func TestVERPNamesTheRecipient(t *testing.T) {
	p := policy(t, key)
	verp, err := p.Scheme.SignVERP("alice@customer.example", sent)
	if err != nil {
		t.Fatal(err)
	}
	// A bounce whose text names nobody, only that delivery failed.
	msg := "From: MAILER-DAEMON@mx.customer.example\r\nTo: " + verp + "\r\n" +
		"Subject: Delivery failure\r\n\r\nYour message could not be delivered.\r\n" +
		"The remote server said: 550 5.1.1 mailbox unavailable\r\n"
	plain, err := dsn.Parse(strings.NewReader(msg), dsn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range plain.Recipients {
		if r.Address != "" {
			t.Fatalf("the parser alone finds %s: the test needs a bounce that names nobody", r.Address)
		}
	}
	rep := parse(t, p, msg)
	if len(rep.Recipients) != 1 || rep.Recipients[0].Address != "alice@customer.example" {
		t.Fatalf("recipients %+v, want alice named by the tag", rep.Recipients)
	}
	check(t, "VERP", rep, 0, dsn.AuthenticityVerified, rep.Recipients[0].Verdict)
	if r := rep.Recipients[0]; r.Verdict != dsn.VerdictSuppress || r.Reason != dsn.ReasonUserUnknown || r.Status != "5.1.1" {
		t.Errorf("the named recipient is not classified as a failure: %+v", r)
	}

	// The same carried recipient behind a tag that does not check out
	// names nobody.
	forged := strings.Replace(verp, "=alice=", "=mallory=", 1)
	rep = parse(t, p, strings.Replace(msg, verp, forged, 1))
	for _, r := range rep.Recipients {
		if r.Address != "" {
			t.Errorf("a forged VERP named %s", r.Address)
		}
	}
}

func TestComplaintVerifiedByOriginalReturnPath(t *testing.T) {
	raw, err := os.ReadFile("../dsn/testdata/arf-complaint.eml")
	if err != nil {
		t.Fatal(err)
	}
	p := policy(t, key)
	p.Now = func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	rep := parse(t, p, string(raw))
	check(t, "complaint, unsigned", rep, 0, dsn.AuthenticityUnsigned, dsn.VerdictIgnore)

	signed := sign(t, p.Scheme, "nina@isp.example.net", time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC))
	msg := strings.Replace(string(raw), "Return-Path: <bounces@example.com>", "Return-Path: <"+signed+">", 1)
	check(t, "complaint, signed", parse(t, p, msg), 0, dsn.AuthenticityVerified, dsn.VerdictSuppress)
}

// BenchmarkParse compares the parser alone with the parser and the policy
// (a key, two signed return paths per bounce at most), on the messages of
// dsn/testdata: what verification adds to each bounce.
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob("../dsn/testdata/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no test messages: %v", err)
	}
	s, err := returnpath.New(returnpath.Config{ReturnPath: "bounces@example.com", Keys: [][]byte{key, oldKey}})
	if err != nil {
		b.Fatal(err)
	}
	var msgs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		// Deliver each to a signed return path, as a signing sender's
		// bounces are.
		to, err := s.Sign("someone@customer.example", sent)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, append([]byte("Delivered-To: "+to+"\r\n"), data...))
	}
	p := &Policy{ReturnPath: "bounces@example.com", Scheme: s, OwnDomains: []string{"example.com"}, Now: func() time.Time { return sent }}
	for _, c := range []struct {
		name  string
		parse func(io.Reader, dsn.Options) (*dsn.Report, error)
	}{
		{"dsn.Parse", dsn.Parse},
		{"Policy.Parse", p.Parse},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.parse(bytes.NewReader(msgs[i%len(msgs)]), dsn.Options{}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// FuzzPolicy parses arbitrary messages with a key configured and checks the
// policy's promises: only a verified result acts on the list, our own
// addresses never do, and every result has an authenticity.
func FuzzPolicy(f *testing.F) {
	files, _ := filepath.Glob("../dsn/testdata/*.eml")
	for _, file := range files[:min(len(files), 40)] {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	s, err := returnpath.New(returnpath.Config{ReturnPath: "bounces@example.com", Keys: [][]byte{key}})
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := s.Sign("alice@customer.example", sent)
	verp, _ := s.SignVERP("alice@customer.example", sent)
	f.Add([]byte(postfixDSN(signed, "alice@customer.example", "bounces@example.com")))
	f.Add([]byte("To: " + verp + "\r\nFrom: MAILER-DAEMON@x.example\r\nSubject: failure\r\n\r\n550 5.1.1 unknown\r\n"))
	p := &Policy{ReturnPath: "bounces@example.com", Scheme: s, OwnDomains: []string{"example.com"}, Now: func() time.Time { return sent }}
	f.Fuzz(func(t *testing.T, msg []byte) {
		rep, err := p.Parse(bytes.NewReader(msg), dsn.Options{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		for _, r := range rep.Recipients {
			acts := r.Verdict == dsn.VerdictSuppress || r.Verdict == dsn.VerdictSoft
			switch {
			case r.Authenticity == "":
				t.Fatalf("%s has no authenticity", r.Address)
			case acts && r.Authenticity != dsn.AuthenticityVerified:
				t.Fatalf("%s acts (%s) while %s", r.Address, r.Verdict, r.Authenticity)
			case acts && p.IsOwn(r.Address):
				t.Fatalf("our own %s acts (%s)", r.Address, r.Verdict)
			case r.Authenticity == dsn.AuthenticityVerified && !verifiedByAny(s, rep, r.Address):
				t.Fatalf("%s verified by no address the bounce was delivered to", r.Address)
			}
		}
	})
}

// verifiedByAny reports whether one of the addresses rep was delivered to
// verifies for rcpt.
func verifiedByAny(s *returnpath.Scheme, rep *dsn.Report, rcpt string) bool {
	for _, a := range append(rep.DeliveredTo, rep.Original.ReturnPath) {
		if s.Verify(a, rcpt, sent) == nil {
			return true
		}
	}
	return false
}
