package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bounced/bounced/config"
)

// defaultConfigPath is where the daemon looks for its configuration unless
// -config or BOUNCED_CONFIG says otherwise.
const defaultConfigPath = "/etc/bounced/bounced.conf"

// configFlag registers -config on fs with its default from the environment.
func configFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("BOUNCED_CONFIG")
	if def == "" {
		def = defaultConfigPath
	}
	return fs.String("config", def, "configuration `file` (default from BOUNCED_CONFIG)")
}

// loadConfig reads the configuration and checks what it refers to. It prints
// every problem to w and returns nil when there was any.
func loadConfig(w io.Writer, path string, uses config.Uses) *config.Config {
	cfg, err := config.Load(path)
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		fmt.Fprintf(w, "bounced: %v\n", err)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(w, "Name the configuration file with -config or BOUNCED_CONFIG; bounced.example.conf documents every setting.")
		}
		return nil
	}
	if cfg != nil {
		problems = append(problems, cfg.CheckEnvironment(uses)...)
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "%s: %d problem(s):\n", path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  %v\n", p)
		}
		return nil
	}
	return cfg
}

// warnForgeryTo writes a warning for each mailbox whose suppressions can
// be forged (config.Mailbox.ForgeryWarning).
func warnForgeryTo(w io.Writer, cfg *config.Config) {
	for _, m := range cfg.Mailboxes {
		if msg := m.ForgeryWarning(); msg != "" {
			fmt.Fprintf(w, "warning: %s\n", msg)
		}
	}
}

// formatDays writes a whole number of days as the configuration does, 30d.
func formatDays(d time.Duration) string {
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func runCheckConfig(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "check-config", "", "Checks the configuration file, the cron schedules, that every secret and CA\nfile can be read and that DATABASE_URL is set. Prints every problem found;\nexit status 1 if there is any, else the connections the replicas will use.\nConnects to nothing.")
	path := configFlag(fs)
	replicas := fs.Int("replicas", 1, "number of replicas that will run this configuration against one database, for the connection arithmetic")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	cfg := loadConfig(e.stderr, *path, config.Uses{Database: true, Daemon: true})
	if cfg == nil {
		// The warnings still count while the problems are fixed.
		if partial, _ := config.Load(*path); partial != nil {
			warnForgeryTo(e.stderr, partial)
		}
		return 1
	}
	warnForgeryTo(e.stderr, cfg)
	fmt.Fprintf(e.stdout, "%s: OK, %d mailbox(es)\n", *path, len(cfg.Mailboxes))
	for _, m := range cfg.Mailboxes {
		fmt.Fprintf(e.stdout, "  %s: %s@%s %s (tls %s, auth %s), schedule %q, idle %v, disposition %s\n",
			m.Name, m.Username, m.Address, m.Folder, m.TLS, m.Auth, m.Schedule, m.Idle, m.Disposition)
		fmt.Fprintf(e.stdout, "    brake: at most %s new suppressions per message and %s per hour; beyond, they are held\n",
			brakeLimit(m.MaxSuppressionsPerMessage), brakeLimit(m.MaxSuppressionsPerHour))
		if m.ReturnPathKeys.Configured() {
			fmt.Fprintf(e.stdout, "    return path %s, signed (valid %s), unsigned bounces: %s\n",
				m.ReturnPath, formatDays(m.ReturnPathMaxAge), m.UnsignedBounces)
		}
	}
	for _, w := range cfg.Webhooks {
		fmt.Fprintf(e.stdout, "  webhook %s: %s, batch_size %d, timeout %s, poll_interval %s, start %s\n",
			w.Name, w.Redacted(), w.BatchSize, w.Timeout, w.PollInterval, w.Start)
	}
	printArithmetic(e.stdout, cfg, max(*replicas, 1))
	return 0
}

// printArithmetic says what n replicas of cfg use: mailboxes each,
// PostgreSQL sessions each and together, IMAP connections each, and how
// soon a stopped replica's mailboxes are taken over.
func printArithmetic(w io.Writer, cfg *config.Config, n int) {
	mailboxes := len(cfg.Mailboxes)
	share := (mailboxes + n - 1) / n
	idle := 0
	for _, m := range cfg.Mailboxes {
		if m.Idle {
			idle++
		}
	}
	idleShare := min(idle, share)
	sessions := cfg.DBMaxConns + len(cfg.Webhooks)
	fmt.Fprintf(w, "replica %q, %d replica(s) sharing %d mailbox(es): about %d mailbox(es) each\n", cfg.ReplicaName(), n, mailboxes, share)
	fmt.Fprintf(w, "  PostgreSQL sessions per replica: at most %d (db_max_conns %d + %d webhook listener(s)), %d for %d replica(s); the server's max_connections must be above that\n",
		sessions, cfg.DBMaxConns, len(cfg.Webhooks), sessions*n, n)
	fmt.Fprintf(w, "  IMAP connections per replica: at most %d for passes (max_parallel_mailboxes %d, two each) + up to %d IDLE (only for the mailboxes it holds)\n",
		2*min(cfg.MaxParallel, share), cfg.MaxParallel, idleShare)
	fmt.Fprintf(w, "  a stopped replica's mailboxes are taken over within %s (takeover_after: leases last %s, renewed every %s)\n",
		cfg.TakeoverAfter, cfg.TakeoverAfter*3/4, cfg.TakeoverAfter/4)
}

// brakeLimit describes one limit of the brake; 0 turns it off.
func brakeLimit(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}
