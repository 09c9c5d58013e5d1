package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

func TestPruneCommandRefusesBadRetention(t *testing.T) {
	for _, args := range [][]string{
		{"prune"},
		{"prune", "-older-than", "7d"},
		{"prune", "-older-than", "soon"},
		{"prune", "-older-than", "213535d"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "-older-than") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a word on -older-than", args, code, errOut)
		}
	}
}

func TestPruneCommand(t *testing.T) {
	ctx := context.Background()
	url := migratedDB(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	unknown := dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress}
	b := store.Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 2}
	for i, age := range []time.Duration{500 * 24 * time.Hour, time.Hour} {
		b.Messages = append(b.Messages, store.Message{UID: uint32(i + 1), ContentHash: sha256.Sum256([]byte{byte(i)}),
			ReceivedAt: time.Now().Add(-age), Outcome: store.OutcomeProcessed,
			Report: &dsn.Report{Kind: dsn.KindDSN, Recipients: []dsn.Recipient{
				{Address: "r" + string(rune('a'+i)) + "@example.com", Status: "5.1.1", Classification: unknown}}}})
	}
	if _, err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runDB(t, "prune", "--database-url", url, "-older-than", "400d", "-dry-run")
	if code != 0 || !strings.Contains(out, "would delete 1 bounce events") {
		t.Fatalf("dry run: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = runDB(t, "prune", "--database-url", url, "-older-than", "400d")
	if code != 0 || !strings.Contains(out, "deleted 1 bounce events") {
		t.Fatalf("prune: exit %d, %q, %q", code, out, errOut)
	}
	var left int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM bounce_events`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d events left (err %v), want the recent one", left, err)
	}

	// The daemon prunes by itself at start with event_retention set.
	old := b.Messages[0]
	old.UID, old.ContentHash = 3, sha256.Sum256([]byte("again"))
	if _, err := s.WriteBatch(ctx, store.Batch{Mailbox: "INBOX", UIDValidity: 1, LastUID: 3, Messages: []store.Message{old}}); err != nil {
		t.Fatal(err)
	}
	stop := startPruning(ctx, &config.Config{EventRetention: 400 * 24 * time.Hour}, s, slog.New(slog.DiscardHandler))
	defer stop()
	waitFor(t, "the daemon's pruning to leave the 1 recent event", func() bool {
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM bounce_events`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 1
	})
}
