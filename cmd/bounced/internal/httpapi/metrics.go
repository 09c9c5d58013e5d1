package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// metrics serves GET /metrics with client_golang's promhttp: the text
// format 0.0.4, or OpenMetrics when the scraper asks for it (Accept). It
// gathers the registry of Options.Metrics (Go runtime, process, the pass,
// commit and webhook histograms, the suppression counters) and, read at
// each scrape, these series, under the names they always had:
//
//	bounced_build_info{goversion,version}           1
//	bounced_mailbox_passes_total{mailbox}            passes finished
//	bounced_mailbox_failed_passes_total{mailbox}     passes that failed
//	bounced_mailbox_skipped_passes_total{mailbox}    passes skipped (another replica held the lease)
//	bounced_mailbox_messages_total{mailbox,outcome}  messages by outcome
//	bounced_mailbox_last_success_timestamp_seconds{mailbox}
//	bounced_mailbox_last_pass_failed{mailbox}        1 while the latest pass failed
//	bounced_mailbox_running{mailbox}                 1 during a pass
//	bounced_mailbox_held_suppressions_total{mailbox} suppressions the brake held since the process started
//	bounced_mailbox_backlog{mailbox}                 messages the latest pass left unread (absent until a pass counted)
//	bounced_suppressions_in_force                    from the database
//	bounced_suppressions_expiring                    those of them that expire
//	bounced_suppressions_held                        held by the brake now, from the database
//	bounced_webhook_pending_events{webhook}          changes not yet acknowledged (counted up to 100,000)
//	bounced_webhook_delivered_events_total{webhook}  events acknowledged
//	bounced_webhook_last_delivery_timestamp_seconds{webhook}
//	bounced_metrics_scrape_errors_total              scrapes whose database query failed
//	bounced_leases_held{replica}                     mailbox leases this replica holds
//	bounced_lease_losses_total{replica}              leases lost (taken over, or expired unrenewed)
//	bounced_lease_takeovers_total{replica}           leases taken from a replica whose lease expired
//
// The database gauges come from queries bounded by MetricsDBTimeout and
// the request's context; when they fail they are left out and the scrape
// error counter goes up, so that a slow database never stalls a scrape. The
// webhook metrics are the database's, so every replica reports the same.
func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	snap := a.snapshot(r.Context())
	scrape := prometheus.NewRegistry()
	if err := scrape.Register(snap); err != nil {
		a.log.Error("metrics: registering the scrape's series", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	promhttp.HandlerFor(prometheus.Gatherers{a.registry, scrape}, promhttp.HandlerOpts{
		ErrorLog:          promLogger{a.log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}).ServeHTTP(w, r)
}

// promLogger passes promhttp's errors to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }

// scrapeSnapshot is what one scrape reads from the scheduler and the
// database, as a prometheus.Collector of constant metrics.
type scrapeSnapshot struct {
	version      string
	statuses     []imapwatch.Status
	dbOK         bool
	inForce      int64
	expiring     int64
	held         int64
	hooks        []store.WebhookProgress
	scrapeErrors uint64
	leases       *imapwatch.LeaseStats // nil when the status source counts none
}

// snapshot reads the mailboxes' state and the database gauges.
func (a *API) snapshot(ctx context.Context) *scrapeSnapshot {
	snap := &scrapeSnapshot{version: a.version}
	ctx, cancel := context.WithTimeout(ctx, MetricsDBTimeout)
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
	} else {
		snap.dbOK, snap.inForce, snap.expiring, snap.held, snap.hooks = true, inForce, expiring, held, hooks
	}
	snap.statuses = a.status.Statuses()
	if ls, ok := a.status.(LeaseSource); ok {
		st := ls.LeaseStats()
		snap.leases = &st
	}
	snap.scrapeErrors = a.scrapeErrors.Load()
	return snap
}

// LeaseSource is a StatusSource that also counts its replica's leases
// (*imapwatch.Scheduler is one).
type LeaseSource interface {
	LeaseStats() imapwatch.LeaseStats
}

// Descriptions of the series a snapshot reports.
var (
	descBuildInfo = prometheus.NewDesc("bounced_build_info", "Build information of the running bounced; always 1.", []string{"version", "goversion"}, nil)
	descMessages  = prometheus.NewDesc("bounced_mailbox_messages_total", "Messages handled in the mailbox since the process started, by outcome.", []string{"mailbox", "outcome"}, nil)
	descInForce   = prometheus.NewDesc("bounced_suppressions_in_force", "Addresses suppressed now.", nil, nil)
	descExpiring  = prometheus.NewDesc("bounced_suppressions_expiring", "Addresses suppressed now whose suppression expires (soft bounces).", nil, nil)
	descHeld      = prometheus.NewDesc("bounced_suppressions_held", "Suppressions held by the brake, waiting to be released or discarded by hand.", nil, nil)
	descPending   = prometheus.NewDesc("bounced_webhook_pending_events", "Changes of the suppression list the webhook's receiver has not acknowledged yet (counted up to 100000).", []string{"webhook"}, nil)
	descDelivered = prometheus.NewDesc("bounced_webhook_delivered_events_total", "Events the webhook's receiver has acknowledged.", []string{"webhook"}, nil)
	descLastHook  = prometheus.NewDesc("bounced_webhook_last_delivery_timestamp_seconds", "Unix time the webhook's cursor last moved (or was made).", []string{"webhook"}, nil)
	descLeases    = prometheus.NewDesc("bounced_leases_held", "Mailbox leases this replica holds.", []string{"replica"}, nil)
	descLosses    = prometheus.NewDesc("bounced_lease_losses_total", "Mailbox leases this replica lost: taken over by another replica, or expired before renewal.", []string{"replica"}, nil)
	descTakeovers = prometheus.NewDesc("bounced_lease_takeovers_total", "Mailbox leases this replica took from a replica whose lease had expired.", []string{"replica"}, nil)
	descBacklog   = prometheus.NewDesc("bounced_mailbox_backlog", "Messages waiting in the mailbox's folder that its latest pass left unread (counted when the pass selected the folder, minus those it recorded); absent until a pass of this process counted.", []string{"mailbox"}, nil)
	descScrapeErr = prometheus.NewDesc("bounced_metrics_scrape_errors_total", "Metrics scrapes whose database query failed (the suppression gauges were left out).", nil, nil)

	// perMailbox are the series with one sample per mailbox.
	perMailbox = []struct {
		desc  *prometheus.Desc
		kind  prometheus.ValueType
		value func(imapwatch.Status) float64
	}{
		{prometheus.NewDesc("bounced_mailbox_passes_total", "Passes over the mailbox finished since the process started, failed and skipped ones included.", []string{"mailbox"}, nil),
			prometheus.CounterValue, func(s imapwatch.Status) float64 { return float64(s.Totals.Passes) }},
		{prometheus.NewDesc("bounced_mailbox_failed_passes_total", "Passes over the mailbox that ended with an error.", []string{"mailbox"}, nil),
			prometheus.CounterValue, func(s imapwatch.Status) float64 { return float64(s.Totals.FailedPasses) }},
		{prometheus.NewDesc("bounced_mailbox_skipped_passes_total", "Passes skipped because another replica held the mailbox's lease.", []string{"mailbox"}, nil),
			prometheus.CounterValue, func(s imapwatch.Status) float64 { return float64(s.Totals.SkippedPasses) }},
		{prometheus.NewDesc("bounced_mailbox_last_success_timestamp_seconds", "Unix time of the mailbox's latest successful pass; 0 before the first.", []string{"mailbox"}, nil),
			prometheus.GaugeValue, func(s imapwatch.Status) float64 { return unixSeconds(s.LastSuccess) }},
		{prometheus.NewDesc("bounced_mailbox_last_pass_failed", "1 while the mailbox's latest pass failed, else 0.", []string{"mailbox"}, nil),
			prometheus.GaugeValue, func(s imapwatch.Status) float64 { return boolValue(s.LastError != "") }},
		{prometheus.NewDesc("bounced_mailbox_running", "1 while a pass over the mailbox runs, else 0.", []string{"mailbox"}, nil),
			prometheus.GaugeValue, func(s imapwatch.Status) float64 { return boolValue(s.Running) }},
		{prometheus.NewDesc("bounced_mailbox_held_suppressions_total", "New suppressions the brake held (beyond max_suppressions_per_message or _per_hour) since the process started.", []string{"mailbox"}, nil),
			prometheus.CounterValue, func(s imapwatch.Status) float64 { return float64(s.Totals.Held) }},
	}
)

// Describe sends nothing: the snapshot is an unchecked collector, so that
// the webhook and database series may be absent from a scrape.
func (s *scrapeSnapshot) Describe(chan<- *prometheus.Desc) {}

// Collect sends the snapshot's samples.
func (s *scrapeSnapshot) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, s.version, runtime.Version())
	for _, f := range perMailbox {
		for _, st := range s.statuses {
			ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(st), st.Mailbox)
		}
	}
	for _, st := range s.statuses {
		if !st.Backlog.Counted.IsZero() {
			ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(st.Backlog.Left), st.Mailbox)
		}
		for _, o := range []struct {
			outcome string
			n       uint64
		}{
			{"processed", st.Totals.Processed},
			{"unrecognized", st.Totals.Unrecognized},
			{"failed", st.Totals.Failed},
			{"duplicate", st.Totals.Duplicates},
		} {
			ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(o.n), st.Mailbox, o.outcome)
		}
	}
	if s.dbOK {
		ch <- prometheus.MustNewConstMetric(descInForce, prometheus.GaugeValue, float64(s.inForce))
		ch <- prometheus.MustNewConstMetric(descExpiring, prometheus.GaugeValue, float64(s.expiring))
		ch <- prometheus.MustNewConstMetric(descHeld, prometheus.GaugeValue, float64(s.held))
		for _, h := range s.hooks {
			ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(h.Pending), h.Name)
			ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(h.Delivered), h.Name)
			ch <- prometheus.MustNewConstMetric(descLastHook, prometheus.GaugeValue, unixSeconds(h.LastDelivered), h.Name)
		}
	}
	if l := s.leases; l != nil {
		ch <- prometheus.MustNewConstMetric(descLeases, prometheus.GaugeValue, float64(l.Held), l.Replica)
		ch <- prometheus.MustNewConstMetric(descLosses, prometheus.CounterValue, float64(l.Losses), l.Replica)
		ch <- prometheus.MustNewConstMetric(descTakeovers, prometheus.CounterValue, float64(l.TakeOvers), l.Replica)
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.CounterValue, float64(s.scrapeErrors))
}

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
