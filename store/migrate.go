package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/bounced/bounced/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors about the state of the schema.
var (
	// ErrSchemaOutdated means the database lacks migrations this binary
	// needs; `bounced migrate` applies them.
	ErrSchemaOutdated = errors.New("database schema is outdated")
	// ErrSchemaNewer means the database has migrations this binary does
	// not know: it is older than the schema.
	ErrSchemaNewer = errors.New("database schema is newer than this binary")
	// ErrChecksumMismatch means a migration file was edited after it was
	// applied. Migrations are append-only: revert the edit and add a new file.
	ErrChecksumMismatch = errors.New("applied migration was changed")
)

// migrationLockKey is the advisory lock (one bigint key space) that
// serialises Migrate across processes: the bytes of "bounced" plus 1.
const migrationLockKey int64 = 0x626f756e63656401

// migration is one NNN_name.sql file.
type migration struct {
	version  int
	name     string // the file name
	sql      string
	checksum string // hex SHA-256 of the file
}

var migrationName = regexp.MustCompile(`^([0-9]{3,})_[a-z0-9_]+\.sql$`)

// loadMigrations reads the NNN_name.sql files at the root of fsys, sorted by
// number. Other files are an error, so that a misnamed file is not skipped.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("reading migrations: %s: name must be NNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v == 0 {
			return nil, fmt.Errorf("reading migrations: %s: bad version number", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("reading migrations: %s and %s have the same number", other, e.Name())
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading migrations: %w", err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// appliedMigration is one row of schema_migrations.
type appliedMigration struct {
	version  int
	name     string
	checksum string
}

const createVersionTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// readApplied returns the applied migrations by version, or nil when the
// version table does not exist yet.
func readApplied(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}) (map[int]appliedMigration, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT version, name, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	applied := map[int]appliedMigration{}
	for rows.Next() {
		var a appliedMigration
		if err := rows.Scan(&a.version, &a.name, &a.checksum); err != nil {
			return nil, fmt.Errorf("reading schema version: %w", err)
		}
		applied[a.version] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	return applied, nil
}

// compare checks the applied migrations against the known ones and returns
// those still to apply. It fails on an edited or unknown applied migration.
func compare(known []migration, applied map[int]appliedMigration) ([]migration, error) {
	byVersion := map[int]migration{}
	for _, m := range known {
		byVersion[m.version] = m
	}
	var versions []int
	for v := range applied {
		versions = append(versions, v)
	}
	sort.Ints(versions)
	for _, v := range versions {
		a := applied[v]
		m, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("%w: migration %s is applied but unknown to this binary", ErrSchemaNewer, a.name)
		}
		if m.checksum != a.checksum {
			return nil, fmt.Errorf("%w: %s (applied as %s) has checksum %.12s, the database recorded %.12s",
				ErrChecksumMismatch, m.name, a.name, m.checksum, a.checksum)
		}
	}
	var pending []migration
	for _, m := range known {
		if _, ok := applied[m.version]; !ok {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

// Migrate applies the embedded migrations the database lacks, in order, each
// in its own transaction, and returns the names of those it applied. It holds
// a PostgreSQL advisory lock meanwhile, so concurrent callers (replicas
// starting together) wait for each other and apply each file once. It fails
// with ErrChecksumMismatch when an applied file was edited since.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (applied []string, err error) {
	return migrate(ctx, pool, migrations.FS)
}

// Migrate applies the pending migrations; see the function Migrate.
func (s *Store) Migrate(ctx context.Context) ([]string, error) { return Migrate(ctx, s.pool) }

func migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) (applied []string, err error) {
	known, err := loadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating: connecting: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, fmt.Errorf("migrating: taking the migration lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; if that fails, close the session,
		// which drops the lock.
		uctx := context.WithoutCancel(ctx)
		if _, uerr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); uerr != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()
	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("migrating: creating schema_migrations: %w", err)
	}
	done, err := readApplied(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	pending, err := compare(known, done)
	if err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
				m.version, m.name, m.checksum)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrating: applying %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

// CheckSchema verifies that every embedded migration has been applied, and
// unchanged. It returns an error wrapping ErrSchemaOutdated (run `bounced
// migrate`), ErrSchemaNewer or ErrChecksumMismatch otherwise. `run` and
// `once` call it before they start.
func (s *Store) CheckSchema(ctx context.Context) error {
	return checkSchema(ctx, s.pool, migrations.FS)
}

func checkSchema(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	known, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("checking schema: %w", err)
	}
	done, err := readApplied(ctx, pool)
	if err != nil {
		return fmt.Errorf("checking schema: %w", err)
	}
	pending, err := compare(known, done)
	if err != nil {
		return fmt.Errorf("checking schema: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w: %d of %d migrations not applied (first: %s): run `bounced migrate`",
			ErrSchemaOutdated, len(pending), len(known), pending[0].name)
	}
	return nil
}
