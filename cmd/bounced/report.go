package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bounced/bounced/store"
)

// runReport prints a terminal summary of recent bounces.
func runReport(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "report", "", "Summarise the bounces of the last 24 hours and 7 days by reason and by\nrecipient domain, and the sender-side incidents with what to do about them.")
	dbURL := databaseFlag(fs)
	lang := fs.String("lang", "en", "language of the fixes: en or de")
	top := fs.Int("top", 10, "how many domains and incidents to show")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	s, code := openStore(ctx, e, "report", *dbURL, true)
	if s == nil {
		return code
	}
	defer s.Close()
	if err := writeReport(ctx, e.stdout, s, *lang, *top); err != nil {
		fmt.Fprintf(e.stderr, "bounced report: %v\n", err)
		return 1
	}
	return 0
}

func writeReport(ctx context.Context, w io.Writer, s *store.Store, lang string, top int) error {
	inForce, expiring, err := s.SuppressionCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Suppressions in force: %d (%d of them expire)\n", inForce, expiring)
	held, err := s.HeldCount(ctx)
	if err != nil {
		return err
	}
	if held > 0 {
		fmt.Fprintf(w, "Suppressions held by the brake: %d, not in force (bounced suppressions held; release or discard them)\n", held)
	} else {
		fmt.Fprintln(w, "Suppressions held by the brake: 0")
	}

	for _, p := range []struct {
		name   string
		period time.Duration
	}{{"24 hours", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}} {
		sum, err := s.BounceSummary(ctx, p.period, top)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nBounces in the last %s: %d events, %d addresses\n", p.name, sum.Bounces, sum.Addresses)
		if sum.AutoReplies > 0 || sum.DeliveryReports > 0 {
			fmt.Fprintf(w, "  not counted as bounces: %d auto-replies, %d delivery reports\n", sum.AutoReplies, sum.DeliveryReports)
		}
		if sum.Bounces == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  by reason\tscope\tbounces\taddresses\t")
		for _, c := range sum.ByReason {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t\n", c.Reason, c.Scope, c.Bounces, c.Addresses)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  by recipient domain\tbounces\taddresses\tmostly\t")
		for _, c := range sum.ByDomain {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t\n", termSafe(c.Domain), c.Bounces, c.Addresses, c.TopReason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  by authenticity\tbounces\taddresses\tverdict suppress\t")
		for _, c := range sum.ByAuthenticity {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\n", c.Authenticity, c.Bounces, c.Addresses, c.Suppressing)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	incidents, err := s.TopIncidents(ctx, 7*24*time.Hour, top, lang)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSender-side incidents in the last 7 days: %d\n", len(incidents))
	if len(incidents) == 0 {
		fmt.Fprintln(w, "  none: no receiver rejected your mail for your setup or reputation")
	}
	for i, in := range incidents {
		sending := in.SendingDomain
		if sending == "" {
			sending = "(unknown sender)"
		}
		mta := in.ReportingMTA
		if mta == "" {
			mta = "(unknown MTA)"
		}
		fmt.Fprintf(w, "  %d. %s: %d for mail from %s, reported by %s, %d recipient domain(s), last %s\n",
			i+1, in.Reason, in.Incidents, termSafe(sending), termSafe(mta), in.RecipientDomains, in.LastSeen.UTC().Format(time.DateTime))
		fix := in.Fix
		if fix == "" {
			fix = "see `bounced explain " + in.Reason + "`"
		}
		fmt.Fprintf(w, "     fix: %s\n", indent(fix, "          "))
	}
	return nil
}

// indent puts prefix before every line of s but the first.
func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}
