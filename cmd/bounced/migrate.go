package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// runMigrate applies the embedded database migrations.
func runMigrate(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "migrate", "", "Apply the database migrations this binary carries, in order, under an\nadvisory lock, and print each one applied.")
	dbURL := databaseFlag(fs)
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	s, code := openStore(ctx, e, "migrate", *dbURL, false)
	if s == nil {
		return code
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced migrate: %v\n", err)
		if errors.Is(err, store.ErrChecksumMismatch) {
			fmt.Fprintln(e.stderr, "Applied migrations must not be edited: restore the file and add a new one.")
		}
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "schema is up to date")
	}
	texts := reasonTexts()
	if err := s.SyncReasonTexts(ctx, texts); err != nil {
		fmt.Fprintf(e.stderr, "bounced migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "stored %d reason texts\n", len(texts))
	return 0
}

// reasonTexts returns the texts of the reasons (meaning, why, fix; English
// and German) that `bounced migrate` stores for reports to show: those of
// `bounced explain`. Tests replace it.
var reasonTexts = explainTexts

// explainTexts returns the explanation of every reason in every language
// `bounced explain` speaks.
func explainTexts() []store.ReasonText {
	var texts []store.ReasonText
	for _, r := range dsn.Reasons() {
		for _, lang := range []string{"en", "de"} {
			ex, err := dsn.Explain(r, lang)
			if err != nil {
				continue // every reason has both languages; TestExplain holds dsn to that
			}
			texts = append(texts, store.ReasonText{Reason: string(r), Lang: lang, Meaning: ex.Meaning, Why: ex.Why, Fix: ex.Fix})
		}
	}
	return texts
}

// openStore connects to the database named by dbURL (else DATABASE_URL,
// else the PG* variables) and, when checkSchema is set, verifies that it is
// migrated. On failure it explains on e.stderr and returns a nil store and
// the exit status.
func openStore(ctx context.Context, e env, cmd, dbURL string, checkSchema bool, opts ...store.Option) (*store.Store, int) {
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := store.Open(octx, dbURL, opts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced %s: %v\n", cmd, err)
		explainConnect(e.stderr)
		return nil, 1
	}
	if checkSchema {
		if err := s.CheckSchema(octx); err != nil {
			s.Close()
			fmt.Fprintf(e.stderr, "bounced %s: %v\n", cmd, err)
			return nil, 1
		}
	}
	return s, 0
}

func explainConnect(w io.Writer) {
	fmt.Fprintln(w, "Name the database with --database-url, DATABASE_URL or the PG* variables")
	fmt.Fprintln(w, "(PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD), e.g.")
	fmt.Fprintln(w, "  DATABASE_URL='postgres://bounced@db.example:5432/bounced?sslmode=verify-full'")
}
