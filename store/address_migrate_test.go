package store

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bounced/bounced/migrations"
)

// TestMigrateAddressForm writes rows the way bounced did before addresses
// had one form (Unicode domains), then applies the address_form migration:
// every address ends in the form NormalizeAddress gives (so its PL/pgSQL
// punycode agrees with Go's IDNA), and an address written both ways is
// merged without losing a suppression, a soft bounce or a count.
func TestMigrateAddressForm(t *testing.T) {
	ctx := context.Background()
	s := openUnmigrated(t)
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(files, func(n string) bool { return strings.HasSuffix(n, "_address_form.sql") })
	if i < 0 {
		t.Fatal("no *_address_form.sql migration")
	}
	fsys := fstest.MapFS{}
	for _, n := range files[:i+1] {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		fsys[n] = &fstest.MapFile{Data: b}
	}
	before := fstest.MapFS{}
	for _, n := range files[:i] {
		before[n] = fsys[n]
	}
	if _, err := migrate(ctx, s.pool, before); err != nil {
		t.Fatalf("migrating to before %s: %v", files[i], err)
	}

	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Domains in the form the old code stored: Unicode, lower-cased.
	plain := []string{
		"x@münchen.de", "x@ελληνικά.example", "x@россия.рф", "x@straße.example", "x@日本語.jp",
		"x@ab-ü-cd.example", "x@mail.bücher.example", "x@ü.example", "x@zürich.example.ch",
		"x@ünïcödé-äöü-ßœ.example", "x@καλημέρα-κόσμε.example", "x@مثال.إختبار", "x@उदाहरण.परीक्षा",
		"plain@example.org",
	}
	for _, a := range plain {
		exec(`INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count, active_since, updated_at)
			VALUES ($1, 'user_unknown', 'recipient', $2, $2, 1, $2, $2)`, a, t0)
	}
	// One address written both ways: the Unicode row is in force, the
	// ASCII row was lifted. The merged row must be in force.
	exec(`INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count, active_since, updated_at)
		VALUES ('bob@bücher.example', 'user_unknown', 'recipient', $1, $2, 2, $1, $2)`, t0.Add(time.Hour), t0.Add(3*time.Hour))
	exec(`INSERT INTO suppressions (address, reason, scope, first_seen, last_seen, bounce_count, active_since, updated_at, lifted_at)
		VALUES ('Bob@xn--bcher-kva.example', 'complaint', 'recipient', $1, $1, 1, $1, $2, $2)`, t0, t0.Add(4*time.Hour))
	// Soft bounces both ways.
	exec(`INSERT INTO soft_bounces (address, bounce_times, counted_since, updated_at)
		VALUES ('carol@bücher.example', ARRAY[$1::timestamptz], NULL, $1)`, t0)
	exec(`INSERT INTO soft_bounces (address, bounce_times, counted_since, updated_at)
		VALUES ('carol@xn--bcher-kva.example', ARRAY[$1::timestamptz], NULL, $1)`, t0.Add(time.Hour))
	exec(`INSERT INTO suppression_audit (address, action, actor, note, reason, at)
		VALUES ('bob@bücher.example', 'add', 'test', 'seeded', 'user_unknown', $1)`, t0)
	for _, d := range []string{"bücher.example", "xn--bcher-kva.example"} {
		exec(`INSERT INTO reputation_daily (day, recipient_domain, sending_domain, reporting_mta, reason, incidents, first_seen, last_seen)
			VALUES ($1, $2, 'news.example', 'mx.example', 'blocklisted', 2, $3, $3)`, t0, d, t0)
	}
	exec(`INSERT INTO bounce_events (message_ref, occurred_at, recorded_at, kind, recipient, recipient_domain, status,
		status_inferred, action, reason, scope, permanent, verdict, diagnostic, remote_mta, reporting_mta, feedback_type,
		original_message_id, original_from, sending_domain)
		VALUES (1, $1, $1, 'dsn', 'dave@bücher.example', 'bücher.example', '5.1.1', false, 'failed', 'user_unknown',
		'recipient', true, 'suppress', '', '', '', '', '', '', 'news.example')`, t0)

	if _, err := migrate(ctx, s.pool, fsys); err != nil {
		t.Fatalf("applying %s: %v", files[i], err)
	}

	for _, a := range plain {
		want, _, ok := NormalizeAddress(a)
		if !ok {
			t.Fatalf("NormalizeAddress(%q) refused", a)
		}
		if n := queryInt(t, s, `SELECT count(*) FROM suppressions WHERE address = $1`, want); n != 1 {
			var got []string
			rows, _ := s.pool.Query(ctx, `SELECT address FROM suppressions WHERE address LIKE 'x@%' ORDER BY 1`)
			for rows.Next() {
				var g string
				_ = rows.Scan(&g)
				got = append(got, g)
			}
			t.Errorf("%s: no row %s after the migration; rows: %q", a, want, got)
		}
	}
	var bob Suppression
	var lifted *time.Time
	// The columns of the schema at this migration (later ones add more).
	err = s.pool.QueryRow(ctx, `SELECT address, reason, scope, first_seen, last_seen, bounce_count, expires_at, manual,
		evidence_message_id, evidence_status, evidence_diagnostic, active_since, updated_at, lifted_at
		FROM suppressions WHERE lower(address) LIKE 'bob@%'`).
		Scan(&bob.Address, &bob.Reason, &bob.Scope, &bob.FirstSeen, &bob.LastSeen, &bob.Count, &bob.ExpiresAt,
			&bob.Manual, &bob.EvidenceMessageID, &bob.EvidenceStatus, &bob.EvidenceDiagnostic, &bob.ActiveSince, &bob.UpdatedAt, &lifted)
	if err != nil {
		t.Fatalf("reading bob's merged suppression (want exactly one row): %v", err)
	}
	if bob.Address != "bob@xn--bcher-kva.example" || lifted != nil || bob.Reason != "user_unknown" || bob.Count != 3 ||
		!bob.FirstSeen.Equal(t0) || !bob.LastSeen.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("merged suppression = %+v lifted %v; want bob@xn--bcher-kva.example in force, user_unknown, count 3, seen t0 to t0+3h", bob, lifted)
	}
	if n := queryInt(t, s, `SELECT cardinality(bounce_times) FROM soft_bounces WHERE address = 'carol@xn--bcher-kva.example'`); n != 2 {
		t.Errorf("merged soft bounces keep %d times, want 2", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM soft_bounces`); n != 1 {
		t.Errorf("%d soft_bounces rows, want 1", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM suppression_audit WHERE address = 'bob@xn--bcher-kva.example'`); n != 1 {
		t.Error("audit row not rewritten")
	}
	if n := queryInt(t, s, `SELECT sum(incidents) FROM reputation_daily WHERE recipient_domain = 'xn--bcher-kva.example'`); n != 4 {
		t.Errorf("reputation incidents of the merged domain = %d, want 4", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM reputation_daily`); n != 1 {
		t.Errorf("%d reputation rows, want 1", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM bounce_events WHERE recipient = 'dave@xn--bcher-kva.example' AND recipient_domain = 'xn--bcher-kva.example'`); n != 1 {
		t.Error("bounce event not rewritten")
	}
	// The lookups (of the current schema) find the merged rows in any form.
	if _, err := migrate(ctx, s.pool, migrations.FS); err != nil {
		t.Fatalf("applying the later migrations: %v", err)
	}
	found, err := s.Suppressed(ctx, []string{"<BOB@BÜCHER.EXAMPLE.>"})
	if err != nil || len(found) != 1 {
		t.Errorf("Suppressed after the migration = %v, %v", found, err)
	}
}
