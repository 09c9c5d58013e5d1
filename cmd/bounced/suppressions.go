package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/store"
)

const suppressionsUsage = `Usage: bounced suppressions COMMAND [flags]

Read and change the suppression list (addresses not to mail).

Commands:
  list                          print the suppressions in force as a table
  export --format csv|json      write them all as CSV or JSON lines
  add ADDRESS --reason REASON   suppress an address by hand (permanent)
  remove ADDRESS --reason TEXT  lift a suppression; the reason goes to the audit
  held                          list the suppressions held by the brake (not in force)
  release ADDRESS...|--all      put held suppressions in force (audited)
  discard ADDRESS...|--all --reason TEXT
                                drop held suppressions without putting them in force

Run 'bounced suppressions COMMAND --help' for a command's flags.
`

// runSuppressions dispatches `bounced suppressions
// list|export|add|remove|held|release|discard`.
func runSuppressions(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, suppressionsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "list":
		return suppressionsList(ctx, e, args[1:])
	case "export":
		return suppressionsExport(ctx, e, args[1:])
	case "add":
		return suppressionsAdd(ctx, e, args[1:])
	case "remove":
		return suppressionsRemove(ctx, e, args[1:])
	case "held":
		return suppressionsHeld(ctx, e, args[1:])
	case "release":
		return suppressionsRelease(ctx, e, args[1:])
	case "discard":
		return suppressionsDiscard(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "bounced suppressions: unknown command %q\n\n%s", args[0], suppressionsUsage)
	return 2
}

func suppressionsList(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions list", "", "Print the suppressions in force, ordered by address.")
	dbURL := databaseFlag(fs)
	limit := fs.Int("limit", 100, "print at most this many (0: all)")
	after := fs.String("after", "", "start after this address (the last one of the previous page)")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	s, code := openStore(ctx, e, "suppressions list", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tREASON\tSCOPE\tCOUNT\tLAST SEEN\tEXPIRES\tMANUAL")
	n := 0
	err := s.EachSuppression(ctx, store.ListOptions{After: *after, Limit: *limit}, func(sp store.Suppression) error {
		n++
		expires := "never"
		if sp.ExpiresAt != nil {
			expires = sp.ExpiresAt.UTC().Format(time.DateTime)
		}
		manual := ""
		if sp.Manual {
			manual = "yes"
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", termSafe(sp.Address), sp.Reason, sp.Scope, sp.Count,
			sp.LastSeen.UTC().Format(time.DateTime), expires, manual)
		return err
	})
	if err == nil {
		err = tw.Flush()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions list: %v\n", err)
		return 1
	}
	if n == *limit && *limit > 0 {
		fmt.Fprintf(e.stderr, "(first %d shown; --limit 0 shows all)\n", n)
	}
	return 0
}

func suppressionsExport(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions export", "", "Write every suppression in force, ordered by address: CSV with a header\nline, or one JSON object per line. Times are RFC 3339 in UTC; an empty\nexpires_at (null in JSON) means permanent.")
	dbURL := databaseFlag(fs)
	format := fs.String("format", "csv", "csv or json")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	if *format != "csv" && *format != "json" {
		fmt.Fprintf(e.stderr, "bounced suppressions export: --format must be csv or json, not %q\n", *format)
		return 2
	}
	s, code := openStore(ctx, e, "suppressions export", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	var err error
	if *format == "json" {
		err = export.JSONLines(ctx, s, e.stdout)
	} else {
		err = export.CSV(ctx, s, e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions export: %v\n", err)
		return 1
	}
	return 0
}

// whoAmI names the operator for the audit when --by is not given.
func whoAmI() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func suppressionsAdd(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions add", "ADDRESS", "Suppress ADDRESS by hand, permanently. The change is recorded in the audit.")
	dbURL := databaseFlag(fs)
	reason := fs.String("reason", "", "reason identifier, e.g. complaint or user_unknown (required; see `bounced explain`)")
	note := fs.String("note", "added by hand", "why, for the audit")
	by := fs.String("by", whoAmI(), "who, for the audit")
	pos, code, stop := parseFlags(fs, args, 1)
	if stop {
		return code
	}
	if *reason == "" {
		fmt.Fprintln(e.stderr, "bounced suppressions add: --reason is required (a reason identifier such as complaint)")
		return 2
	}
	s, code := openStore(ctx, e, "suppressions add", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	sp, err := s.AddSuppression(ctx, pos[0], *reason, *by, *note)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions add: %v\n", err)
		if errors.Is(err, store.ErrUnknownReason) {
			fmt.Fprintln(e.stderr, "The reasons are listed in the README and by `bounced explain`.")
		}
		return 1
	}
	fmt.Fprintf(e.stdout, "suppressed %s (%s)\n", sp.Address, sp.Reason)
	return 0
}

func suppressionsRemove(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions remove", "ADDRESS", "Lift the suppression of ADDRESS. Who and why are recorded in the audit.\nBounces from before the lift never suppress the address again.")
	dbURL := databaseFlag(fs)
	why := fs.String("reason", "", "why the address may be mailed again (required, kept in the audit)")
	by := fs.String("by", whoAmI(), "who, for the audit")
	pos, code, stop := parseFlags(fs, args, 1)
	if stop {
		return code
	}
	if *why == "" {
		fmt.Fprintln(e.stderr, "bounced suppressions remove: --reason is required: say why the address may be mailed again")
		return 2
	}
	s, code := openStore(ctx, e, "suppressions remove", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	sp, err := s.LiftSuppression(ctx, pos[0], *by, *why)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "lifted the suppression of %s (was %s since %s)\n", sp.Address, sp.Reason,
		sp.ActiveSince.UTC().Format(time.DateTime))
	return 0
}
