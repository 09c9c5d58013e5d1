package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bounced/bounced/authenticity"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
)

// recorderOpener opens the store; tests replace it.
var recorderOpener = openRecorder

// afterCommit is imapwatch.Options.AfterCommit for every watcher; nil
// except in a binary built with the faultinject tag (faultinject.go).
var afterCommit func()

func runOnce(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "once", "", "Works every configured mailbox once, for cron jobs and Kubernetes CronJobs.\nExit status 0 when every mailbox succeeded, 1 otherwise. DATABASE_URL names\nthe PostgreSQL database.")
	path := configFlag(fs)
	logFormat := fs.String("log-format", "", "log format, text or json (default from the configuration)")
	fetchOnly := fs.Bool("fetch-only", false, "only fetch every message (read-only, no parsing, no database): measures the IMAP side")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	cfg := loadConfig(e.stderr, *path, config.Uses{Database: !*fetchOnly})
	if cfg == nil {
		return 2
	}
	logger, err := newLogger(e, cfg, *logFormat)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced once: %v\n", err)
		return 2
	}

	var rec imapwatch.Recorder
	if !*fetchOnly {
		r, closeFn, err := recorderOpener(ctx, os.Getenv("DATABASE_URL"), cfg, logger)
		if err != nil {
			logger.Error("cannot open the store", "err", err)
			return 1
		}
		defer closeFn()
		rec = r
	}

	type result struct {
		st  imapwatch.Stats
		err error
	}
	warnForgery(cfg, logger)
	results := make([]result, len(cfg.Mailboxes))
	var wg sync.WaitGroup
	for i, m := range cfg.Mailboxes {
		opts, err := watcherOptions(cfg, m, rec, logger, *fetchOnly)
		if err != nil {
			logger.Error("cannot read the mailbox's return-path keys", "mailbox", m.Name, "err", err)
			return 1
		}
		// A name of its own: a `bounced run` of this host skips nothing
		// for it, and it takes no lease from one (it skips the mailboxes
		// one holds).
		opts.Replica += "/once"
		w := imapwatch.New(m, rec, opts)
		wg.Go(func() {
			st, err := w.Pass(ctx)
			results[i] = result{st, err}
		})
	}
	wg.Wait()

	failed := 0
	for i, m := range cfg.Mailboxes {
		r := results[i]
		if r.err != nil {
			failed++
			logger.Error("mailbox failed", "mailbox", m.Name, "stats", r.st, "err", r.err)
			fmt.Fprintf(e.stdout, "%s: FAILED after %d message(s): %v\n", m.Name, r.st.Messages, r.err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", m.Name, summary(r.st, *fetchOnly))
	}
	if peak := peakRSS(); peak != "" {
		fmt.Fprintf(e.stdout, "peak memory (VmHWM): %s\n", peak)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// peakRSS returns the process's peak resident set size as Linux reports it,
// or "" elsewhere.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// summary describes a pass in one line, with its rate.
func summary(st imapwatch.Stats, fetchOnly bool) string {
	if st.Skipped {
		return "skipped: another replica is working this mailbox"
	}
	rate := 0.0
	if secs := st.Duration.Seconds(); secs > 0 {
		rate = float64(st.Messages) / secs
	}
	if fetchOnly {
		return fmt.Sprintf("fetched %d message(s), %d bytes in %s (%.0f msg/s)",
			st.Messages, st.Bytes, st.Duration.Round(time.Millisecond), rate)
	}
	line := fmt.Sprintf("%d message(s): %d processed, %d unrecognized, %d failed, %d already recorded; %d batch(es) in %s (%.0f msg/s)",
		st.Messages, st.Processed, st.Unrecognized, st.Failed, st.Duplicates, st.Batches, st.Duration.Round(time.Millisecond), rate)
	if st.Held > 0 {
		line += fmt.Sprintf("; %d new suppression(s) held by the brake (bounced suppressions held)", st.Held)
	}
	return line
}

// watcherOptions are the options of m's watcher: those every watcher of a
// process shares, and the parser with m's authenticity policy (the one
// `bounced parse -config -mailbox` uses too).
func watcherOptions(cfg *config.Config, m config.Mailbox, rec imapwatch.Recorder, logger *slog.Logger, fetchOnly bool) (imapwatch.Options, error) {
	leases, _ := rec.(imapwatch.Leaser) // the PostgreSQL store has leases; test recorders need none
	opts := imapwatch.Options{Logger: logger, FetchOnly: fetchOnly, ShutdownGrace: cfg.ShutdownTimeout, AfterCommit: afterCommit,
		Leases: leases, Replica: cfg.ReplicaName(), TakeoverAfter: cfg.TakeoverAfter}
	pol, err := authenticity.ForMailbox(&m)
	if err != nil {
		return opts, err
	}
	opts.Parse = pol.Parse
	return opts, nil
}

// warnForgery logs, once per mailbox at start, that suppressions from its
// bounces can be forged: it has no return-path key, or trusts unsigned
// bounces.
func warnForgery(cfg *config.Config, logger *slog.Logger) {
	for _, m := range cfg.Mailboxes {
		if w := m.ForgeryWarning(); w != "" {
			logger.Warn(w, "mailbox", m.Name)
		}
	}
}

// newLogger builds the process's logger: text or JSON on stderr, the format
// from the flag when given, else from the configuration.
func newLogger(e env, cfg *config.Config, flagFormat string) (*slog.Logger, error) {
	format := cfg.LogFormat
	if flagFormat != "" {
		format = flagFormat
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", format)
}
