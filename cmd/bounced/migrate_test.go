package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/migrations"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

// runDB runs the binary in-process and returns its exit status and output.
func runDB(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// migratedDB returns the URL of a fresh database migrated by `bounced migrate`.
func migratedDB(t *testing.T) string {
	t.Helper()
	url := storetest.NewDatabase(t)
	if code, _, errOut := runDB(t, "migrate", "--database-url", url); code != 0 {
		t.Fatalf("bounced migrate: exit %d: %s", code, errOut)
	}
	return url
}

func TestMigrateCommand(t *testing.T) {
	url := storetest.NewDatabase(t)

	code, _, errOut := runDB(t, "report", "--database-url", url)
	if code != 1 || !strings.Contains(errOut, "run `bounced migrate`") {
		t.Errorf("report on an empty database: exit %d, stderr %q; want 1 and a hint to run bounced migrate", code, errOut)
	}

	code, out, errOut := runDB(t, "migrate", "--database-url", url)
	if code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	files, _ := fs.Glob(migrations.FS, "*.sql")
	for _, f := range files {
		if !strings.Contains(out, "applied "+f) {
			t.Errorf("migrate output %q does not name %s", out, f)
		}
	}
	// DATABASE_URL is the default.
	t.Setenv("DATABASE_URL", url)
	code, out, _ = runDB(t, "migrate")
	if code != 0 || !strings.HasPrefix(out, "schema is up to date\n") || !strings.Contains(out, fmt.Sprintf("stored %d reason texts", 2*len(dsn.Reasons()))) {
		t.Errorf("second migrate: exit %d, %q; want the schema up to date and every reason's texts stored", code, out)
	}

	// The reason texts are stored when there are any.
	defer func(old func() []store.ReasonText) { reasonTexts = old }(reasonTexts)
	reasonTexts = func() []store.ReasonText {
		return []store.ReasonText{{Reason: "virus", Lang: "de", Meaning: "m", Why: "w", Fix: "Anhang prüfen."}}
	}
	code, out, errOut = runDB(t, "migrate")
	if code != 0 || !strings.Contains(out, "stored 1 reason texts") {
		t.Fatalf("migrate with texts: exit %d, %q %q", code, out, errOut)
	}
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Reasons(context.Background(), "de")
	var fix string
	for _, r := range rs {
		if r.Reason == "virus" && r.Text != nil {
			fix = r.Text.Fix
		}
	}
	if err != nil || fix != "Anhang prüfen." {
		t.Errorf("stored fix for virus = %q, %v", fix, err)
	}
}

func TestDatabaseCommandsExplainUnreachableDatabase(t *testing.T) {
	for _, args := range [][]string{{"migrate"}, {"report"}, {"suppressions", "list"}} {
		args = append(args, "--database-url", "postgres://bounced:hunter2@127.0.0.1:1/x?connect_timeout=2&sslmode=disable")
		code, _, errOut := runDB(t, args...)
		if code != 1 || !strings.Contains(errOut, "cannot connect to PostgreSQL") || !strings.Contains(errOut, "DATABASE_URL") {
			t.Errorf("%v: exit %d, stderr %q; want 1, the cause and how to configure", args[:len(args)-2], code, errOut)
		}
		if strings.Contains(errOut, "hunter2") {
			t.Errorf("%v: the password leaked into stderr: %q", args[:len(args)-2], errOut)
		}
	}
}
