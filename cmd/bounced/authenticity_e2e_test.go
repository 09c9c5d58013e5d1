package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bounced/bounced/returnpath"
)

// TestE2ESignedReturnPaths runs `bounced once` against the real Dovecot
// and PostgreSQL on bounces delivered (by LMTP where the test Dovecot has
// it) to signed, unsigned and broken return paths, with a key configured:
// only the verified bounce suppresses; the others are stored as evidence
// with their authenticity, and our own addresses are never suppressed.
func TestE2ESignedReturnPaths(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef-once-key"
	t.Setenv("BOUNCED_TEST_RETURN_PATH_KEYS", key)
	rp := requireDovecot(t).user + "@example.test"
	m := newMailbox(t, fmt.Sprintf("return_path = %s\nreturn_path_key_env = BOUNCED_TEST_RETURN_PATH_KEYS\nown_domains = sender.example\n", rp))
	s, err := returnpath.New(returnpath.Config{ReturnPath: rp, Keys: [][]byte{[]byte(key)}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := returnpath.New(returnpath.Config{ReturnPath: rp, Keys: [][]byte{[]byte("fedcba9876543210fedcba9876543210-other-key")}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(s *returnpath.Scheme, rcpt string, at time.Time) string {
		a, err := s.Sign(rcpt, at)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tamper := func(a string) string {
		b := []byte(a)
		i := strings.IndexByte(a, '+') + returnpath.DayDigits + 5
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	verp, err := s.SignVERP("grace@customer.example", now)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		rcpt, to string
		auth     string
		verdict  string
		in_force bool
	}{
		{"alice@customer.example", sign(s, "alice@customer.example", now), "verified", "suppress", true},
		{"grace@customer.example", verp, "verified", "suppress", true},
		{"bob@customer.example", rp, "unsigned", "ignore", false},
		{"carol@customer.example", sign(s, "dave@customer.example", now), "invalid", "ignore", false},
		{"erin@customer.example", tamper(sign(s, "erin@customer.example", now)), "invalid", "ignore", false},
		{"frank@customer.example", sign(s, "frank@customer.example", now.AddDate(0, 0, -31)), "invalid", "ignore", false},
		{"heidi@customer.example", sign(other, "heidi@customer.example", now), "invalid", "ignore", false},
		{"info@sender.example", sign(s, "info@sender.example", now), "verified", "ignore", false},
	}
	for _, c := range cases {
		m.deliver(t, c.to, dsnMessage(c.to, "rp-"+rand.Text()[:10], []string{c.rcpt}))
	}
	db := migratedDatabase(t)
	m.once(t, db)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range cases {
		var auth, verdict, reason string
		err := conn.QueryRow(ctx, `SELECT authenticity, verdict, reason FROM bounce_events WHERE recipient = $1`, c.rcpt).Scan(&auth, &verdict, &reason)
		if err != nil {
			t.Errorf("%s: no event: %v", c.rcpt, err)
			continue
		}
		if auth != c.auth || verdict != c.verdict || reason != "user_unknown" {
			t.Errorf("%s (delivered to %s): event %s/%s/%s, want %s/%s/user_unknown", c.rcpt, c.to, auth, verdict, reason, c.auth, c.verdict)
		}
		n := dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE address = $1`, c.rcpt)
		if (n == 1) != c.in_force {
			t.Errorf("%s: %d suppressions in force, want in force %v", c.rcpt, n, c.in_force)
		}
	}
	if n := dbInt(t, db, `SELECT count(*) FROM held_suppressions`); n != 0 {
		t.Errorf("%d held suppressions: unverified bounces must not even reach the brake", n)
	}
}
