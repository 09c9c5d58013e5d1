package main

// End-to-end tests of signed return paths beside authenticity_e2e_test.go:
// the envelope sender printed by `bounced return-path sign`, key rotation,
// and a lifted address under `unsigned_bounces = trust`. DSNs are delivered
// by LMTP to the return path, then `bounced once` runs against the real
// Dovecot and PostgreSQL.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bounced/bounced/returnpath"
)

// rpKeysEnv names the variable the signed configurations read their keys
// from.
const rpKeysEnv = "BOUNCED_E2E_RETURN_PATH_KEYS"

// randomKey returns a random 32-byte key as 64 hex digits.
func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// signedMailbox is a test mailbox whose return path is the Dovecot user at
// example.test, with the keys of rpKeysEnv and the extra settings given.
func signedMailbox(t *testing.T, extra string, keys ...string) (*mailbox, string) {
	t.Helper()
	t.Setenv(rpKeysEnv, strings.Join(keys, " "))
	rp := requireDovecot(t).user + "@example.test"
	m := newMailbox(t, "return_path = "+rp+"\nreturn_path_key_env = "+rpKeysEnv+"\n"+extra)
	return m, rp
}

// sign runs `bounced return-path sign` for rcpt, as a campaign tool would,
// and returns the envelope sender it prints.
func (m *mailbox) sign(t *testing.T, rcpt string) string {
	t.Helper()
	code, out, errOut := runCmd(context.Background(), "return-path", "sign", "-config", m.cfg, "-mailbox", "e2e", rcpt)
	if code != 0 {
		t.Fatalf("bounced return-path sign %s: exit %d: %s", rcpt, code, errOut)
	}
	signed := strings.TrimSpace(out)
	if !strings.HasPrefix(signed, m.d.user+"+") || !strings.HasSuffix(signed, "@example.test") || strings.Contains(signed, "\n") {
		t.Fatalf("bounced return-path sign %s = %q, want one %s+TAG@example.test", rcpt, out, m.d.user)
	}
	return signed
}

// signWith signs rcpt with key alone, at the time given.
func signWith(t *testing.T, rp, key, rcpt string, at time.Time) string {
	t.Helper()
	s, err := returnpath.New(returnpath.Config{ReturnPath: rp, Keys: [][]byte{[]byte(key)}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Sign(rcpt, at)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// lastEvent returns "authenticity verdict" of rcpt's latest bounce event,
// and whether rcpt is suppressed now, with the authenticity of the evidence.
func lastEvent(t *testing.T, db, rcpt string) (event, suppression string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT authenticity || ' ' || verdict FROM bounce_events WHERE recipient = $1
		ORDER BY id DESC LIMIT 1`, rcpt).Scan(&event); err != nil {
		t.Fatalf("event of %s: %v", rcpt, err)
	}
	err = conn.QueryRow(ctx, `SELECT 'in force, ' || evidence_authenticity FROM current_suppressions WHERE address = $1`, rcpt).Scan(&suppression)
	if err == pgx.ErrNoRows {
		return event, "none"
	}
	if err != nil {
		t.Fatal(err)
	}
	return event, suppression
}

// TestE2EReturnPathKeyRotation: the first key signs (`bounced return-path
// sign`), every key verifies; once the old key is removed, its tags are
// invalid.
func TestE2EReturnPathKeyRotation(t *testing.T) {
	oldKey, newKey := randomKey(t), randomKey(t)
	m, rp := signedMailbox(t, "", newKey, oldKey)
	db := migratedDatabase(t)
	r := recipients("rotated", 3)
	id := func() string { return rand.Text()[:10] }

	signed := m.sign(t, r[0])
	if signed != signWith(t, rp, newKey, r[0], time.Now()) {
		t.Errorf("return-path sign did not sign with the first key: %s", signed)
	}
	m.deliver(t, signed, dsnMessage(signed, "k0-"+id(), r[:1]))
	old := signWith(t, rp, oldKey, r[1], time.Now()) // mail sent before the rotation
	m.deliver(t, old, dsnMessage(old, "k1-"+id(), r[1:2]))
	m.once(t, db)
	for _, rcpt := range r[:2] {
		if ev, sp := lastEvent(t, db, rcpt); ev != "verified suppress" || sp != "in force, verified" {
			t.Errorf("%s: event %q, suppression %q; want verified and in force", rcpt, ev, sp)
		}
	}

	// The old key's last signatures have expired: the operator drops it.
	t.Setenv(rpKeysEnv, newKey)
	old = signWith(t, rp, oldKey, r[2], time.Now())
	m.deliver(t, old, dsnMessage(old, "k2-"+id(), r[2:3]))
	m.once(t, db)
	if ev, sp := lastEvent(t, db, r[2]); ev != "invalid ignore" || sp != "none" {
		t.Errorf("%s, signed with a removed key: event %q, suppression %q; want invalid and none", r[2], ev, sp)
	}
}

// TestE2ELiftedAddressUnderTrust: with unsigned_bounces = trust an
// unsigned bounce suppresses, but an address lifted by hand is suppressed
// again only by a verified bounce: not by an unsigned one, nor an invalid
// one.
func TestE2ELiftedAddressUnderTrust(t *testing.T) {
	m, rp := signedMailbox(t, "unsigned_bounces = trust\n", randomKey(t))
	db := migratedDatabase(t)
	alice := "alice@customer.example"
	id := func() string { return rand.Text()[:10] }

	m.deliver(t, rp, dsnMessage(rp, "t0-"+id(), []string{alice}))
	m.once(t, db)
	if ev, sp := lastEvent(t, db, alice); ev != "unsigned suppress" || sp != "in force, unsigned" {
		t.Fatalf("trusted unsigned bounce: event %q, suppression %q", ev, sp)
	}
	if code, _, errOut := runDB(t, "suppressions", "remove", alice, "--reason", "confirmed by phone", "--database-url", db); code != 0 {
		t.Fatalf("remove: exit %d: %s", code, errOut)
	}
	time.Sleep(10 * time.Millisecond) // the next bounces arrive after the lift

	m.deliver(t, rp, dsnMessage(rp, "t1-"+id(), []string{alice}))
	_, log := m.once(t, db)
	if ev, sp := lastEvent(t, db, alice); ev != "unsigned suppress" || sp != "none" {
		t.Errorf("unsigned bounce after the lift: event %q, suppression %q; want the event, no suppression", ev, sp)
	}
	if !strings.Contains(log, "stay lifted") {
		t.Errorf("the pass does not say the lifted address stays lifted:\n%s", lastLines(log, 10))
	}

	signed := m.sign(t, alice)
	at := strings.IndexByte(signed, '@')
	flip := byte('0')
	if signed[at-1] == '0' {
		flip = '1'
	}
	tampered := signed[:at-1] + string(flip) + signed[at:]
	m.deliver(t, tampered, dsnMessage(tampered, "t2-"+id(), []string{alice}))
	m.once(t, db)
	if ev, sp := lastEvent(t, db, alice); ev != "invalid ignore" || sp != "none" {
		t.Errorf("invalid bounce after the lift: event %q, suppression %q", ev, sp)
	}

	m.deliver(t, signed, dsnMessage(signed, "t3-"+id(), []string{alice}))
	m.once(t, db)
	if ev, sp := lastEvent(t, db, alice); ev != "verified suppress" || sp != "in force, verified" {
		t.Errorf("verified bounce after the lift: event %q, suppression %q; want suppressed again", ev, sp)
	}
}
