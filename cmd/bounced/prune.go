package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/store"
)

// runPrune deletes bounce events older than a retention period.
func runPrune(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "prune", "", "Delete the bounce events older than -older-than, and the soft-bounce state of\naddresses not seen since, in chunks. Suppressions, their audit, the daily\nreputation counters and the ledger of processed messages are kept whatever\ntheir age. With event_retention in the configuration, bounced run does this\nevery day by itself.")
	dbURL := databaseFlag(fs)
	olderThan := fs.String("older-than", "", "retention: delete what occurred longer ago than this (e.g. 400d; at least 30d)")
	dryRun := fs.Bool("dry-run", false, "only count what would be deleted")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	retention, err := retentionFlag(*olderThan)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced prune: %v\n", err)
		fs.Usage()
		return 2
	}
	s, code := openStore(ctx, e, "prune", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	p, err := s.Prune(ctx, retention, *dryRun)
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(e.stdout, "%s %d bounce events and %d soft-bounce records older than %s\n", verb, p.Events, p.SoftBounces, *olderThan)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced prune: %v\n", err)
		return 1
	}
	return 0
}

// retentionFlag reads the -older-than value.
func retentionFlag(v string) (time.Duration, error) {
	if v == "" {
		return 0, fmt.Errorf("-older-than is required")
	}
	d, err := config.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("-older-than %q: %w", v, err)
	}
	if err := config.CheckEventRetention(d); err != nil {
		return 0, fmt.Errorf("-older-than %s: %w", v, err)
	}
	return d, nil
}

// pruneEvery is how often bounced run prunes with event_retention set.
const pruneEvery = 24 * time.Hour

// startPruning prunes the events older than the configured retention now
// and then every pruneEvery, until ctx ends; it does nothing without
// event_retention. A failed prune is logged and tried again next time.
func startPruning(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger) (stop func()) {
	if cfg.EventRetention <= 0 {
		return func() {}
	}
	if st == nil {
		logger.Warn("event_retention is set but the recorder keeps no events: nothing to prune")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		for {
			start := time.Now()
			p, err := st.Prune(ctx, cfg.EventRetention, false)
			if err != nil && ctx.Err() == nil {
				logger.Error("pruning old bounce events failed", "retention_days", int(cfg.EventRetention/(24*time.Hour)), "err", err)
			} else if err == nil {
				logger.Info("pruned old bounce events", "retention_days", int(cfg.EventRetention/(24*time.Hour)), "events", p.Events,
					"soft_bounce_records", p.SoftBounces, "took", time.Since(start).Round(time.Millisecond))
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
