package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestNewDatabaseWithCreateDBRole creates a role that may only create
// databases and uses it as TEST_DATABASE_URL's role. While its test
// database is dropped, a superuser session (as autovacuum or a monitoring
// tool would be) is still connected for a moment: the database is dropped
// all the same, once that session has gone.
func TestNewDatabaseWithCreateDBRole(t *testing.T) {
	admin := NewDatabase(t) // a database of our own to connect the superuser to
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) // after the role's drop below
	var super bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL's role is not a superuser: this test creates a role")
		}
		t.Skip("TEST_DATABASE_URL's role is not a superuser: cannot create the CREATEDB role")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := "bounced_createdb_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` LOGIN CREATEDB PASSWORD 'test-only'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), `DROP ROLE IF EXISTS `+role); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	u, _ := url.Parse(admin)
	u.User = url.UserPassword(role, "test-only")
	u.Path = "/postgres"

	var name string
	t.Run("as the role", func(t *testing.T) {
		db := NewDatabaseOn(t, u.String())
		du, _ := url.Parse(db)
		name = du.Path[1:]
		own, err := pgx.Connect(ctx, db) // left open, as a test may
		if err != nil {
			t.Fatal(err)
		}
		if _, err := own.Exec(ctx, `CREATE TABLE t (id int)`); err != nil {
			t.Fatal(err)
		}
		su, _ := url.Parse(admin)
		su.Path = "/" + name
		other, err := pgx.Connect(ctx, su.String())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			other.Exec(ctx, `SELECT pg_sleep(1.5)`)
			other.Close(ctx)
		}()
		time.Sleep(200 * time.Millisecond) // the superuser session is in the database
	})
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&left); err != nil || left != 0 {
		t.Errorf("database %s still exists (%d, %v)", name, left, err)
	}
}
