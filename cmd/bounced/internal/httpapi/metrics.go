package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// metrics serves GET /metrics in the Prometheus text exposition format
// (version 0.0.4), written by hand:
//
//	bounced_build_info{version,goversion}           1
//	bounced_mailbox_passes_total{mailbox}            passes finished
//	bounced_mailbox_failed_passes_total{mailbox}     passes that failed
//	bounced_mailbox_skipped_passes_total{mailbox}    passes skipped (another replica held the lease)
//	bounced_mailbox_messages_total{mailbox,outcome}  messages by outcome
//	bounced_mailbox_last_success_timestamp_seconds{mailbox}
//	bounced_mailbox_last_pass_failed{mailbox}        1 while the latest pass failed
//	bounced_mailbox_running{mailbox}                 1 during a pass
//	bounced_suppressions_in_force                    from the database
//	bounced_suppressions_expiring                    those of them that expire
//	bounced_suppressions_held                        held by the brake now, from the database
//	bounced_mailbox_held_suppressions_total{mailbox} suppressions the brake held since the process started
//	bounced_webhook_pending_events{webhook}          changes not yet acknowledged (counted up to 100,000)
//	bounced_webhook_delivered_events_total{webhook}  events acknowledged
//	bounced_webhook_last_delivery_timestamp_seconds{webhook}
//	bounced_metrics_scrape_errors_total              scrapes whose database query failed
//	bounced_leases_held{replica}                     mailbox leases this replica holds
//	bounced_lease_losses_total{replica}              leases lost (taken over, or expired unrenewed)
//	bounced_lease_takeovers_total{replica}           leases taken from a replica whose lease expired
//
// The database gauges come from queries bounded by MetricsDBTimeout; when
// they fail they are left out and the scrape error counter goes up, so that
// a slow database never stalls a scrape. The webhook metrics are the
// database's, so every replica reports the same.
func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), MetricsDBTimeout)
	inForce, expiring, dbErr := a.store.SuppressionCounts(ctx)
	var hooks []store.WebhookProgress
	var held int64
	if dbErr == nil {
		hooks, dbErr = a.store.WebhookProgress(ctx)
	}
	if dbErr == nil {
		held, dbErr = a.store.HeldCount(ctx)
	}
	cancel()
	if dbErr != nil {
		a.scrapeErrors.Add(1)
		a.log.Warn("metrics: cannot read the suppression counts", "err", dbErr)
	}
	statuses := a.status.Statuses()

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	m := metricWriter{w: bw}

	m.family("bounced_build_info", "gauge", "Build information of the running bounced; always 1.")
	m.sample("bounced_build_info", 1, "version", a.version, "goversion", runtime.Version())

	perMailbox := []struct {
		name, kind, help string
		value            func(imapwatch.Status) float64
	}{
		{"bounced_mailbox_passes_total", "counter", "Passes over the mailbox finished since the process started, failed and skipped ones included.",
			func(s imapwatch.Status) float64 { return float64(s.Totals.Passes) }},
		{"bounced_mailbox_failed_passes_total", "counter", "Passes over the mailbox that ended with an error.",
			func(s imapwatch.Status) float64 { return float64(s.Totals.FailedPasses) }},
		{"bounced_mailbox_skipped_passes_total", "counter", "Passes skipped because another replica held the mailbox's lease.",
			func(s imapwatch.Status) float64 { return float64(s.Totals.SkippedPasses) }},
		{"bounced_mailbox_last_success_timestamp_seconds", "gauge", "Unix time of the mailbox's latest successful pass; 0 before the first.",
			func(s imapwatch.Status) float64 { return unixSeconds(s.LastSuccess) }},
		{"bounced_mailbox_last_pass_failed", "gauge", "1 while the mailbox's latest pass failed, else 0.",
			func(s imapwatch.Status) float64 { return boolValue(s.LastError != "") }},
		{"bounced_mailbox_running", "gauge", "1 while a pass over the mailbox runs, else 0.",
			func(s imapwatch.Status) float64 { return boolValue(s.Running) }},
		{"bounced_mailbox_held_suppressions_total", "counter", "New suppressions the brake held (beyond max_suppressions_per_message or _per_hour) since the process started.",
			func(s imapwatch.Status) float64 { return float64(s.Totals.Held) }},
	}
	for _, f := range perMailbox {
		m.family(f.name, f.kind, f.help)
		for _, s := range statuses {
			m.sample(f.name, f.value(s), "mailbox", s.Mailbox)
		}
	}

	m.family("bounced_mailbox_messages_total", "counter", "Messages handled in the mailbox since the process started, by outcome.")
	for _, s := range statuses {
		for _, o := range []struct {
			outcome string
			n       uint64
		}{
			{"processed", s.Totals.Processed},
			{"unrecognized", s.Totals.Unrecognized},
			{"failed", s.Totals.Failed},
			{"duplicate", s.Totals.Duplicates},
		} {
			m.sample("bounced_mailbox_messages_total", float64(o.n), "mailbox", s.Mailbox, "outcome", o.outcome)
		}
	}

	if dbErr == nil {
		m.family("bounced_suppressions_in_force", "gauge", "Addresses suppressed now.")
		m.sample("bounced_suppressions_in_force", float64(inForce))
		m.family("bounced_suppressions_expiring", "gauge", "Addresses suppressed now whose suppression expires (soft bounces).")
		m.sample("bounced_suppressions_expiring", float64(expiring))
		m.family("bounced_suppressions_held", "gauge", "Suppressions held by the brake, waiting to be released or discarded by hand.")
		m.sample("bounced_suppressions_held", float64(held))
		writeWebhookMetrics(m, hooks)
	}
	if ls, ok := a.status.(LeaseSource); ok {
		st := ls.LeaseStats()
		m.family("bounced_leases_held", "gauge", "Mailbox leases this replica holds.")
		m.sample("bounced_leases_held", float64(st.Held), "replica", st.Replica)
		m.family("bounced_lease_losses_total", "counter", "Mailbox leases this replica lost: taken over by another replica, or expired before renewal.")
		m.sample("bounced_lease_losses_total", float64(st.Losses), "replica", st.Replica)
		m.family("bounced_lease_takeovers_total", "counter", "Mailbox leases this replica took from a replica whose lease had expired.")
		m.sample("bounced_lease_takeovers_total", float64(st.TakeOvers), "replica", st.Replica)
	}
	m.family("bounced_metrics_scrape_errors_total", "counter", "Metrics scrapes whose database query failed (the suppression gauges were left out).")
	m.sample("bounced_metrics_scrape_errors_total", float64(a.scrapeErrors.Load()))

	if err := bw.Flush(); err != nil {
		a.log.Debug("metrics: writing the response", "err", err)
	}
}

// LeaseSource is a StatusSource that also counts its replica's leases
// (*imapwatch.Scheduler is one).
type LeaseSource interface {
	LeaseStats() imapwatch.LeaseStats
}

// writeWebhookMetrics writes the progress of each webhook's receiver.
func writeWebhookMetrics(m metricWriter, hooks []store.WebhookProgress) {
	if len(hooks) == 0 {
		return
	}
	m.family("bounced_webhook_pending_events", "gauge", "Changes of the suppression list the webhook's receiver has not acknowledged yet (counted up to 100000).")
	for _, h := range hooks {
		m.sample("bounced_webhook_pending_events", float64(h.Pending), "webhook", h.Name)
	}
	m.family("bounced_webhook_delivered_events_total", "counter", "Events the webhook's receiver has acknowledged.")
	for _, h := range hooks {
		m.sample("bounced_webhook_delivered_events_total", float64(h.Delivered), "webhook", h.Name)
	}
	m.family("bounced_webhook_last_delivery_timestamp_seconds", "gauge", "Unix time the webhook's cursor last moved (or was made).")
	for _, h := range hooks {
		m.sample("bounced_webhook_last_delivery_timestamp_seconds", unixSeconds(h.LastDelivered), "webhook", h.Name)
	}
}

// metricWriter writes the text exposition format. Write errors are left to
// the final Flush of the buffered writer under it.
type metricWriter struct {
	w *bufio.Writer
}

// family writes the HELP and TYPE lines of a metric.
func (m metricWriter) family(name, kind, help string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, kind)
}

// sample writes one sample; labels alternate names and values.
func (m metricWriter) sample(name string, value float64, labels ...string) {
	m.w.WriteString(name)
	if len(labels) > 0 {
		m.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				m.w.WriteByte(',')
			}
			fmt.Fprintf(m.w, `%s="%s"`, labels[i], escapeLabel(labels[i+1]))
		}
		m.w.WriteByte('}')
	}
	m.w.WriteByte(' ')
	m.w.WriteString(strconv.FormatFloat(value, 'f', -1, 64))
	m.w.WriteByte('\n')
}

// labelEscaper escapes a label value: backslash, double quote and line feed.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(v string) string { return labelEscaper.Replace(v) }

// helpEscaper escapes a HELP text: backslash and line feed.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(v string) string { return helpEscaper.Replace(v) }

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// buildVersion returns the main module's version and, when known, its VCS
// revision, from the binary's build information.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
