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

// formatDays writes a whole number of days as the configuration does, 30d.
func formatDays(d time.Duration) string {
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func runCheckConfig(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "check-config", "", "Checks the configuration file, the cron schedules, that every secret and CA\nfile can be read and that DATABASE_URL is set. Prints every problem found;\nexit status 1 if there is any. Connects to nothing.")
	path := configFlag(fs)
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	cfg := loadConfig(e.stderr, *path, config.Uses{Database: true, Daemon: true})
	if cfg == nil {
		return 1
	}
	fmt.Fprintf(e.stdout, "%s: OK, %d mailbox(es)\n", *path, len(cfg.Mailboxes))
	for _, m := range cfg.Mailboxes {
		fmt.Fprintf(e.stdout, "  %s: %s@%s %s (tls %s, auth %s), schedule %q, idle %v, disposition %s\n",
			m.Name, m.Username, m.Address, m.Folder, m.TLS, m.Auth, m.Schedule, m.Idle, m.Disposition)
		if m.ReturnPathKeys.Configured() {
			fmt.Fprintf(e.stdout, "    return path %s, signed (valid %s), unsigned bounces: %s\n",
				m.ReturnPath, formatDays(m.ReturnPathMaxAge), m.UnsignedBounces)
		}
	}
	for _, m := range cfg.Mailboxes {
		if w := m.ForgeryWarning(); w != "" {
			fmt.Fprintf(e.stderr, "warning: %s\n", w)
		}
	}
	for _, w := range cfg.Webhooks {
		fmt.Fprintf(e.stdout, "  webhook %s: %s, batch_size %d, timeout %s, poll_interval %s, start %s\n",
			w.Name, w.Redacted(), w.BatchSize, w.Timeout, w.PollInterval, w.Start)
	}
	return 0
}
