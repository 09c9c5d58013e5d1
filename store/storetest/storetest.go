// Package storetest gives tests a fresh PostgreSQL database of their own.
//
// The server is named by TEST_DATABASE_URL. Its role needs only the right
// to create databases (CREATEDB): a superuser is not required.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// NewDatabase creates an empty database on the server named by
// TEST_DATABASE_URL, drops it when the test ends, and returns its URL. It
// skips the test when TEST_DATABASE_URL is unset, and fails it instead when
// CI=true.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TEST_DATABASE_URL is not set (CI=true): tests need a PostgreSQL server")
		}
		tb.Skip("TEST_DATABASE_URL is not set: skipping PostgreSQL test")
	}
	return NewDatabaseOn(tb, admin)
}

// NewDatabaseOn is NewDatabase on the server and as the role of the URL
// admin, which may be any role with CREATEDB.
func NewDatabaseOn(tb testing.TB, admin string) string {
	tb.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parsing the database URL: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "bounced_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("creating test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := dropDatabase(admin, name); err != nil {
			tb.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// dropDatabase drops the database name, ending the sessions the test left
// open. DROP DATABASE ... WITH (FORCE) does that in one go, but a role that
// is not a superuser may not end a superuser's session, and that includes
// autovacuum workers: then it ends its own sessions and drops without
// FORCE (which stops autovacuum itself), retrying while another session
// is still connected.
func dropDatabase(admin, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
		return err
	}
	forced := err
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()`, name); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		if err == nil {
			return nil
		}
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %v)", err, forced)
		case <-time.After(wait):
		}
	}
}
