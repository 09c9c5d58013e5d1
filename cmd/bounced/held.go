package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/bounced/bounced/store"
)

// suppressionsHeld lists the suppressions the brake held.
func suppressionsHeld(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions held", "", "List the suppressions the brake held (beyond max_suppressions_per_message or\nmax_suppressions_per_hour): not in force until released, ordered by address.")
	dbURL := databaseFlag(fs)
	limit := fs.Int("limit", 100, "print at most this many (0: all)")
	after := fs.String("after", "", "start after this address (the last one of the previous page)")
	format := fs.String("format", "table", "table, or json (one object per line)")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(e.stderr, "bounced suppressions held: --format must be table or json, not %q\n", *format)
		return 2
	}
	s, code := openStore(ctx, e, "suppressions held", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	enc := json.NewEncoder(e.stdout)
	if *format == "table" {
		fmt.Fprintln(tw, "ADDRESS\tREASON\tMAILBOX\tAUTHENTICITY\tHELD BY\tHELD AT\tCOUNT\tEVIDENCE")
	}
	n := 0
	err := s.EachHeld(ctx, store.ListOptions{After: *after, Limit: *limit}, func(h store.HeldSuppression) error {
		n++
		if *format == "json" {
			return enc.Encode(h)
		}
		evidence := strings.TrimSpace(h.EvidenceStatus + " " + h.EvidenceDiagnostic)
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", printable(h.Address), h.Reason, printable(h.Mailbox),
			h.EvidenceAuthenticity, h.HeldBy, h.HeldAt.UTC().Format(time.DateTime), h.Count, printable(truncate(evidence, 70)))
		return err
	})
	if err == nil && *format == "table" {
		err = tw.Flush()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions held: %v\n", err)
		return 1
	}
	if n == *limit && *limit > 0 {
		fmt.Fprintf(e.stderr, "(first %d shown; --limit 0 shows all)\n", n)
	}
	return 0
}

// heldSelection reads the ADDRESS... or --all of release and discard.
func heldSelection(e env, name string, pos []string, all bool) (store.HeldSelection, bool) {
	switch {
	case all && len(pos) > 0:
		fmt.Fprintf(e.stderr, "bounced suppressions %s: name addresses or --all, not both\n", name)
		return store.HeldSelection{}, false
	case !all && len(pos) == 0:
		fmt.Fprintf(e.stderr, "bounced suppressions %s: name the addresses, or --all\n", name)
		return store.HeldSelection{}, false
	}
	return store.HeldSelection{Addresses: pos, All: all}, true
}

// suppressionsRelease puts held suppressions in force.
func suppressionsRelease(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions release", "ADDRESS...|--all", "Put held suppressions in force, as their bounces would have without the brake,\nand announce them to the webhooks. Who and why are recorded in the audit.")
	dbURL := databaseFlag(fs)
	all := fs.Bool("all", false, "release every held suppression")
	why := fs.String("reason", "released by hand", "why, for the audit")
	by := fs.String("by", whoAmI(), "who, for the audit")
	pos, code, stop := parseFlags(fs, args, -1)
	if stop {
		return code
	}
	sel, ok := heldSelection(e, "release", pos, *all)
	if !ok {
		return 2
	}
	s, code := openStore(ctx, e, "suppressions release", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	res, err := s.ReleaseHeld(ctx, sel, *by, *why)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions release: %v\n", err)
		return 1
	}
	for _, a := range res.Released {
		fmt.Fprintf(e.stdout, "released %s\n", printable(a))
	}
	for _, a := range res.Expired {
		fmt.Fprintf(e.stdout, "released %s: its soft-bounce suppression had expired, nothing put in force\n", printable(a))
	}
	for _, a := range res.NotHeld {
		fmt.Fprintf(e.stderr, "not held: %s\n", printable(a))
	}
	fmt.Fprintf(e.stdout, "%d suppression(s) put in force\n", len(res.Released))
	return 0
}

// suppressionsDiscard drops held suppressions.
func suppressionsDiscard(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "suppressions discard", "ADDRESS...|--all", "Drop held suppressions without putting them in force (their bounces stay\nrecorded). Who and why are recorded in the audit.")
	dbURL := databaseFlag(fs)
	all := fs.Bool("all", false, "discard every held suppression")
	why := fs.String("reason", "", "why, for the audit (required)")
	by := fs.String("by", whoAmI(), "who, for the audit")
	pos, code, stop := parseFlags(fs, args, -1)
	if stop {
		return code
	}
	sel, ok := heldSelection(e, "discard", pos, *all)
	if !ok {
		return 2
	}
	if *why == "" {
		fmt.Fprintln(e.stderr, "bounced suppressions discard: --reason is required: say why these bounces are not to be trusted")
		return 2
	}
	s, code := openStore(ctx, e, "suppressions discard", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	gone, err := s.DiscardHeld(ctx, sel, *by, *why)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced suppressions discard: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%d held suppression(s) discarded\n", len(gone))
	return 0
}

// printable replaces the control characters of s (terminal escapes from a
// hostile bounce, line breaks, tabs that would break the table) with U+FFFD.
func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}
