package returnpath

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef-test-key")
	oldKey  = []byte("fedcba9876543210fedcba9876543210-old-key")
	day0    = time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
)

func newScheme(t testing.TB, keys ...[]byte) *Scheme {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey}
	}
	s, err := New(Config{ReturnPath: "Bounces@Example.COM", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	s := newScheme(t)
	addr, err := s.Sign("Alice@Customer.Example", day0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "bounces+") || !strings.HasSuffix(addr, "@example.com") || len(addr) != len("bounces+@example.com")+TagLength {
		t.Fatalf("Sign = %q, want bounces+TAG@example.com", addr)
	}
	for _, rcpt := range []string{"alice@customer.example", "ALICE@CUSTOMER.EXAMPLE"} {
		if err := s.Verify(addr, rcpt, day0); err != nil {
			t.Errorf("Verify(%q, %q) = %v, want nil", addr, rcpt, err)
		}
	}
	// An MTA that upper-cases the local part keeps the tag valid.
	if err := s.Verify(strings.ToUpper(addr), "alice@customer.example", day0); err != nil {
		t.Errorf("Verify of the upper-cased address = %v, want nil", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := newScheme(t)
	addr, err := s.Sign("alice@customer.example", day0)
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.TrimSuffix(strings.TrimPrefix(addr, "bounces+"), "@example.com")
	flip := func(i int) string {
		b := []byte(tag)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return "bounces+" + string(b) + "@example.com"
	}
	cases := []struct {
		name, addr, rcpt string
		now              time.Time
		want             error
	}{
		{"other recipient", addr, "bob@customer.example", day0, ErrMismatch},
		{"recipient with another domain", addr, "alice@customer.example.org", day0, ErrMismatch},
		{"one MAC digit changed", flip(DayDigits + 3), "alice@customer.example", day0, ErrMismatch},
		{"last MAC digit changed", flip(TagLength - 1), "alice@customer.example", day0, ErrMismatch},
		{"day changed", flip(DayDigits - 1), "alice@customer.example", day0, ErrMismatch},
		{"older than the window", addr, "alice@customer.example", day0.AddDate(0, 0, 31), ErrExpired},
		{"dated in the future", addr, "alice@customer.example", day0.AddDate(0, 0, -2), ErrFuture},
		{"plain return path", "bounces@example.com", "alice@customer.example", day0, ErrUnsigned},
		{"another return path's tag", "news+" + tag + "@example.com", "alice@customer.example", day0, ErrUnsigned},
		{"another domain", "bounces+" + tag + "@example.org", "alice@customer.example", day0, ErrUnsigned},
		{"unsigned VERP of another tool", "bounces+alice=customer.example@example.com", "alice@customer.example", day0, ErrUnsigned},
		{"tag cut short", "bounces+" + tag[:TagLength-1] + "@example.com", "alice@customer.example", day0, ErrUnsigned},
		{"tag not hex", "bounces+" + tag[:TagLength-1] + "g@example.com", "alice@customer.example", day0, ErrUnsigned},
		{"empty", "", "alice@customer.example", day0, ErrUnsigned},
	}
	for _, c := range cases {
		err := s.Verify(c.addr, c.rcpt, c.now)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Verify(%q, %q) = %v, want %v", c.name, c.addr, c.rcpt, err, c.want)
		}
		if c.want != ErrUnsigned && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not match ErrInvalid", c.name, err)
		}
	}
}

func TestWindow(t *testing.T) {
	s, err := New(Config{ReturnPath: "bounces@example.com", Keys: [][]byte{testKey}, MaxAge: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	signed := time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)
	addr, err := s.Sign("alice@customer.example", signed)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		now  time.Time
		want error
	}{
		{signed.Add(-24 * time.Hour), nil},                    // the sender's clock a day ahead
		{signed.Add(-48 * time.Hour), ErrFuture},              // two days ahead
		{time.Date(2026, 12, 13, 23, 0, 0, 0, time.UTC), nil}, // 7 days later
		{time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC), ErrExpired},
	} {
		if err := s.Verify(addr, "alice@customer.example", c.now); !errors.Is(err, c.want) {
			t.Errorf("at %s: Verify = %v, want %v", c.now, err, c.want)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	before := newScheme(t, oldKey)
	during := newScheme(t, testKey, oldKey)
	after := newScheme(t, testKey)
	oldAddr, err := before.Sign("alice@customer.example", day0)
	if err != nil {
		t.Fatal(err)
	}
	newAddr, err := during.Sign("alice@customer.example", day0)
	if err != nil {
		t.Fatal(err)
	}
	if newAddr == oldAddr {
		t.Fatal("the first key does not sign")
	}
	for _, c := range []struct {
		name string
		s    *Scheme
		addr string
		ok   bool
	}{
		{"old tag, both keys", during, oldAddr, true},
		{"new tag, both keys", during, newAddr, true},
		{"new tag, old key only", before, newAddr, false},
		{"old tag, old key dropped", after, oldAddr, false},
	} {
		err := c.s.Verify(c.addr, "alice@customer.example", day0)
		if (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestSignVERP(t *testing.T) {
	s := newScheme(t)
	addr, err := s.SignVERP("Alice@Customer.Example", day0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	if a.Recipient != "alice@customer.example" || !strings.EqualFold(a.ReturnPath, "bounces@example.com") {
		t.Fatalf("Parse(%q) = %+v", addr, a)
	}
	if err := s.VerifyAddress(a, a.Recipient, day0); err != nil {
		t.Fatalf("the carried recipient does not verify: %v", err)
	}
	// A recipient that does not fit in 64 octets, or needs quoting, is not
	// carried: the plain signed form instead.
	for _, rcpt := range []string{
		"a-rather-long-local-part-for-a-verp@subdomain.customer.example",
		`"john..doe"@customer.example`,
		"jörg@customer.example",
	} {
		addr, err := s.SignVERP(rcpt, day0)
		if err != nil {
			t.Fatalf("SignVERP(%q): %v", rcpt, err)
		}
		if a, err := Parse(addr); err != nil || a.Recipient != "" {
			t.Errorf("SignVERP(%q) = %q (%+v, %v), want the plain form", rcpt, addr, a, err)
		}
		if err := s.Verify(addr, rcpt, day0); err != nil {
			t.Errorf("Verify(%q, %q) = %v", addr, rcpt, err)
		}
	}
}

func TestLocalPartLength(t *testing.T) {
	s, err := New(Config{ReturnPath: strings.Repeat("b", MaxBaseLocalPart) + "@example.com", Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"a@b.example", strings.Repeat("x", 64) + "@" + strings.Repeat("y", 180) + ".example"} {
		for _, sign := range []func(string, time.Time) (string, error){s.Sign, s.SignVERP} {
			addr, err := sign(rcpt, day0)
			if err != nil {
				t.Fatal(err)
			}
			if at := strings.LastIndexByte(addr, '@'); at > MaxLocalPart {
				t.Errorf("local part of %q is %d octets", addr, at)
			}
		}
	}
	if _, err := New(Config{ReturnPath: strings.Repeat("b", MaxBaseLocalPart+1) + "@example.com", Keys: [][]byte{testKey}}); err == nil {
		t.Error("New accepted a return path without room for a tag")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []Config{
		{ReturnPath: "bounces@example.com"},
		{ReturnPath: "bounces@example.com", Keys: [][]byte{[]byte("short")}},
		{ReturnPath: "bounces@example.com", Keys: [][]byte{testKey, []byte("short")}},
		{ReturnPath: "bounces", Keys: [][]byte{testKey}},
		{ReturnPath: "bounces+x@example.com", Keys: [][]byte{testKey}},
		{ReturnPath: "bounces@exa mple.com", Keys: [][]byte{testKey}},
		{ReturnPath: "bounces@example.com", Keys: [][]byte{testKey}, MaxAge: time.Hour},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	s := newScheme(t)
	for _, rcpt := range []string{"", "alice", "@customer.example", "alice@", "al ice@customer.example", "alice@customer.example\r\n", strings.Repeat("a", 250) + "@b.example"} {
		if addr, err := s.Sign(rcpt, day0); err == nil {
			t.Errorf("Sign(%q) = %q, want an error", rcpt, addr)
		}
	}
	if _, err := s.Sign("alice@customer.example", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("Sign before 1970 succeeded")
	}
}

func TestIsReturnPath(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"bounces@example.com", true},
		{"BOUNCES@EXAMPLE.COM", true},
		{"bounces+anything@example.com", true},
		{"bounces+0051397a7ebd01ac9dfb77fe06=alice=customer.example@example.com", true},
		{"bouncesx@example.com", false},
		{"bounces@example.org", false},
		{"bounces@sub.example.com", false},
		{"alice@customer.example", false},
		{"", false},
		{"@example.com", false},
	} {
		if got := IsReturnPath(c.addr, "bounces@example.com"); got != c.want {
			t.Errorf("IsReturnPath(%q) = %v, want %v", c.addr, got, c.want)
		}
	}
}

func TestDay(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 0), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Date(2026, 12, 6, 0, 0, 0, 0, time.FixedZone("CET", 3600)), 20792}, // 5 Dec 23:00 UTC
	} {
		if got := Day(c.t); got != c.want {
			t.Errorf("Day(%s) = %d, want %d", c.t, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	s := newScheme(f)
	for _, rcpt := range []string{"alice@customer.example", "x@y.example"} {
		a, _ := s.Sign(rcpt, day0)
		v, _ := s.SignVERP(rcpt, day0)
		f.Add(a)
		f.Add(v)
	}
	f.Add("bounces+alice=customer.example@example.com")
	f.Add("bounces@example.com")
	f.Add("+@")
	f.Fuzz(func(t *testing.T, addr string) {
		a, err := Parse(addr)
		if err != nil {
			if !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, neither unsigned nor invalid", addr, err)
			}
			return
		}
		if a.Day < 0 || a.Day > maxDay || !strings.Contains(a.ReturnPath, "@") {
			t.Fatalf("Parse(%q) = %+v", addr, a)
		}
		if a.Recipient != "" && !strings.Contains(a.Recipient, "@") {
			t.Fatalf("Parse(%q): carried recipient %q", addr, a.Recipient)
		}
	})
}

func FuzzVerify(f *testing.F) {
	s := newScheme(f)
	a, _ := s.Sign("alice@customer.example", day0)
	v, _ := s.SignVERP("alice@customer.example", day0)
	f.Add(a, "alice@customer.example", int64(0))
	f.Add(v, "alice@customer.example", int64(40))
	f.Add(a, "bob@customer.example", int64(-3))
	f.Add("bounces@example.com", "", int64(0))
	f.Fuzz(func(t *testing.T, addr, rcpt string, days int64) {
		now := day0.AddDate(0, 0, int(days%100000))
		err := s.Verify(addr, rcpt, now)
		if err == nil {
			// Only a tag the key made verifies: the fuzzer cannot forge one,
			// so a verified address is one signed for this recipient.
			p, perr := Parse(addr)
			if perr != nil {
				t.Fatalf("Verify(%q) = nil but Parse fails: %v", addr, perr)
			}
			want, serr := s.Sign(rcpt, time.Unix(p.Day*86400, 0))
			if serr != nil || !strings.EqualFold(tagOf(want), tagOf(addr)) {
				t.Fatalf("Verify(%q, %q) = nil, but Sign gives %q (%v)", addr, rcpt, want, serr)
			}
			return
		}
		if !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify(%q, %q) = %v, neither unsigned nor invalid", addr, rcpt, err)
		}
	})
}

// tagOf returns the tag of a signed return path.
func tagOf(addr string) string {
	plus := strings.IndexByte(addr, Delimiter)
	return addr[plus+1 : plus+1+TagLength]
}

func BenchmarkVerify(b *testing.B) {
	s := newScheme(b, testKey, oldKey)
	addr, err := s.Sign("alice@customer.example", day0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verified", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Verify(addr, "alice@customer.example", day0); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A forged tag is checked against every key: the worst case.
	b.Run("invalid-2-keys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Verify(addr, "bob@customer.example", day0); err == nil {
				b.Fatal("verified")
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	s := newScheme(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign("alice@customer.example", day0); err != nil {
			b.Fatal(err)
		}
	}
}
