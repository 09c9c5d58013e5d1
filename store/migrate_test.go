package store

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/migrations"
	"github.com/bounced/bounced/store/storetest"
	"github.com/jackc/pgx/v5"
)

func openUnmigrated(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), storetest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestMigrateAppliesEmbeddedFilesOnce(t *testing.T) {
	ctx := context.Background()
	s := openUnmigrated(t)

	err := s.CheckSchema(ctx)
	if !errors.Is(err, ErrSchemaOutdated) || !strings.Contains(err.Error(), "bounced migrate") {
		t.Fatalf("CheckSchema on an empty database = %v, want ErrSchemaOutdated naming `bounced migrate`", err)
	}

	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("embedded migrations = %v, %v", files, err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !slices.Equal(applied, files) {
		t.Errorf("applied %v, want %v", applied, files)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Errorf("CheckSchema after Migrate: %v", err)
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing applied", again, err)
	}

	var reasons int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM reasons`).Scan(&reasons); err != nil {
		t.Fatal(err)
	}
	if reasons != 23 {
		t.Errorf("reasons table holds %d reasons, want the 23 of DESIGN.md", reasons)
	}
}

func TestReasonTableMatchesDesign(t *testing.T) {
	s := newTestStore(t)
	// The reason table of DESIGN.md, by the dsn package's identifiers.
	want := map[dsn.Reason]struct {
		scope     dsn.Scope
		permanent bool
	}{
		dsn.ReasonUserUnknown: {dsn.ScopeRecipient, true}, dsn.ReasonMailboxDisabled: {dsn.ScopeRecipient, true},
		dsn.ReasonHostUnknown: {dsn.ScopeRecipient, true}, dsn.ReasonBadRecipientSyntax: {dsn.ScopeRecipient, true},
		dsn.ReasonMailboxFull: {dsn.ScopeRecipient, false}, dsn.ReasonComplaint: {dsn.ScopeRecipient, true},
		dsn.ReasonAuthFailure: {dsn.ScopeSender, true}, dsn.ReasonBlocklisted: {dsn.ScopeSender, true},
		dsn.ReasonSpamContent: {dsn.ScopeSender, true}, dsn.ReasonPolicyRejected: {dsn.ScopeSender, true},
		dsn.ReasonBadSenderAddress: {dsn.ScopeSender, true}, dsn.ReasonRelayDenied: {dsn.ScopeSender, true},
		dsn.ReasonMessageTooLarge: {dsn.ScopeSender, true}, dsn.ReasonVirus: {dsn.ScopeSender, true},
		dsn.ReasonRateLimited: {dsn.ScopeSender, false}, dsn.ReasonGreylisted: {dsn.ScopeTransient, false},
		dsn.ReasonServerError: {dsn.ScopeTransient, false}, dsn.ReasonNetworkError: {dsn.ScopeTransient, false},
		dsn.ReasonExpired: {dsn.ScopeTransient, false}, dsn.ReasonDelayed: {dsn.ScopeTransient, false},
		dsn.ReasonAutoReply: {dsn.ScopeNone, false}, dsn.ReasonDelivered: {dsn.ScopeNone, false},
		dsn.ReasonUnknown: {dsn.ScopeNone, false},
	}
	rs, err := s.Reasons(context.Background(), "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(want) {
		t.Errorf("reasons table has %d rows, DESIGN.md %d", len(rs), len(want))
	}
	for _, r := range rs {
		w, ok := want[dsn.Reason(r.Reason)]
		if !ok || string(w.scope) != r.Scope || w.permanent != r.Permanent {
			t.Errorf("reason %s: scope %s, permanent %v; DESIGN.md: %+v (known: %v)", r.Reason, r.Scope, r.Permanent, w, ok)
		}
	}
	// Every identifier passes the reason_id domain, and nothing else does.
	for reason := range want {
		if _, err := s.pool.Exec(context.Background(), `SELECT $1::text::reason_id`, string(reason)); err != nil {
			t.Errorf("reason_id rejects %s: %v", reason, err)
		}
	}
	if _, err := s.pool.Exec(context.Background(), `SELECT 'deliverd'::text::reason_id`); err == nil {
		t.Error("reason_id accepts 'deliverd'")
	}
}

func TestMigrateOrderAndChecksum(t *testing.T) {
	ctx := context.Background()
	s := openUnmigrated(t)
	// 010 needs 002 needs 001: applying them in file-system order would fail.
	fsys := fstest.MapFS{
		"010_c.sql": {Data: []byte(`ALTER TABLE b ADD COLUMN c int;`)},
		"001_a.sql": {Data: []byte(`CREATE TABLE a (id int PRIMARY KEY);`)},
		"002_b.sql": {Data: []byte(`CREATE TABLE b (id int REFERENCES a);`)},
		"README":    {Data: []byte(`not a migration`)},
	}
	applied, err := migrate(ctx, s.pool, fsys)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if want := []string{"001_a.sql", "002_b.sql", "010_c.sql"}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}

	fsys["020_d.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE d (x int);`)}
	if err := checkSchema(ctx, s.pool, fsys); !errors.Is(err, ErrSchemaOutdated) {
		t.Errorf("checkSchema with a new file = %v, want ErrSchemaOutdated", err)
	}

	fsys["002_b.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE b (id int REFERENCES a, extra text);`)}
	_, err = migrate(ctx, s.pool, fsys)
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), "002_b.sql") {
		t.Errorf("migrate after editing 002_b.sql = %v, want ErrChecksumMismatch naming the file", err)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('d') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("020_d.sql applied despite the checksum mismatch (exists=%v, err=%v)", exists, err)
	}
	if err := checkSchema(ctx, s.pool, fsys); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("checkSchema after edit = %v, want ErrChecksumMismatch", err)
	}

	delete(fsys, "002_b.sql")
	if err := checkSchema(ctx, s.pool, fsys); !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("checkSchema without an applied file = %v, want ErrSchemaNewer", err)
	}
}

func TestMigrateFailingFileLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openUnmigrated(t)
	fsys := fstest.MapFS{
		"001_a.sql": {Data: []byte(`CREATE TABLE a (id int);`)},
		"002_b.sql": {Data: []byte(`CREATE TABLE b (id int); SELECT no_such_function();`)},
	}
	applied, err := migrate(ctx, s.pool, fsys)
	if err == nil || !strings.Contains(err.Error(), "002_b.sql") {
		t.Fatalf("migrate = %v, want an error naming 002_b.sql", err)
	}
	if !slices.Equal(applied, []string{"001_a.sql"}) {
		t.Errorf("applied %v, want [001_a.sql]", applied)
	}
	var b bool
	var versions int
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('b') IS NOT NULL, (SELECT count(*) FROM schema_migrations)`).Scan(&b, &versions); err != nil {
		t.Fatal(err)
	}
	if b || versions != 1 {
		t.Errorf("after a failing 002: table b exists=%v, %d versions recorded; want false, 1", b, versions)
	}
}

func TestMigrateUnderAdvisoryLock(t *testing.T) {
	ctx := context.Background()
	s := openUnmigrated(t)

	// Another session holds the migration lock: Migrate must wait for it.
	holder, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		t.Fatal(err)
	}
	type result struct {
		applied []string
		err     error
	}
	const replicas = 4
	results := make(chan result, replicas)
	var started sync.WaitGroup
	for range replicas {
		started.Add(1)
		go func() {
			started.Done()
			a, err := s.Migrate(ctx)
			results <- result{a, err}
		}()
	}
	started.Wait()
	select {
	case r := <-results:
		t.Fatalf("Migrate returned %v, %v while another session held the migration lock", r.applied, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
		t.Fatal(err)
	}
	holder.Release()

	var all []string
	for range replicas {
		r := <-results
		if r.err != nil {
			t.Errorf("concurrent Migrate: %v", r.err)
		}
		all = append(all, r.applied...)
	}
	files, _ := fs.Glob(migrations.FS, "*.sql")
	slices.Sort(all)
	if !slices.Equal(all, files) {
		t.Errorf("concurrent Migrate calls applied %v together, want each of %v exactly once", all, files)
	}
	rows, _ := s.pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY version`)
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(recorded, files) {
		t.Errorf("schema_migrations = %v, %v; want %v", recorded, err, files)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://nobody:secret-password@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Open on a closed port = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Errorf("error leaks the password: %v", err)
	}
}
