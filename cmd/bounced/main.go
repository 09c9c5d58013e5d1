// Command bounced polls return-path mailboxes over IMAP, parses and classifies
// bounces, and keeps suppression and reputation records in PostgreSQL.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env carries the process's standard streams to a command, so commands can be
// run and tested in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

// commands lists every subcommand in the order `bounced help` shows them.
var commands = []command{
	{"parse", "parse bounce messages and print one result per recipient", runParse},
	{"explain", "explain a status code, reply code or reason (--lang en|de)", runExplain},
	{"run", "run the daemon: every mailbox on its schedule; health checks, HTTP API, metrics", runDaemon},
	{"once", "work every mailbox once and exit (for cron jobs); --fetch-only measures IMAP alone", runOnce},
	{"return-path", "sign envelope senders for recipients, or verify one (sign|verify)", runReturnPath},
	{"check-config", "validate the configuration file and everything it refers to", runCheckConfig},
	{"healthcheck", "ask a running daemon on this host whether it is up (container HEALTHCHECK)", runHealthcheck},
	{"migrate", "apply the database migrations", runMigrate},
	{"suppressions", "list, export, add or remove suppressions (list|export|add|remove)", runSuppressions},
	{"report", "summarise recent bounces, by reason and domain, and sender-side incidents", runReport},
	{"prune", "delete bounce events older than a retention period (-older-than 400d)", runPrune},
	{"demo", "run the main job once on an embedded sample mailbox (in-process IMAP server)", runDemo},
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "bounced: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "bounced keeps mailing lists clean: it reads bounces from IMAP, classifies them")
	fmt.Fprintln(w, "and records suppressions and sender reputation in PostgreSQL.")
	fmt.Fprintln(w, "\nUsage: bounced COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'bounced COMMAND --help' for a command's flags.")
}
