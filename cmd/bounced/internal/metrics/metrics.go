// Package metrics holds bounced's Prometheus instruments: the Go runtime and
// process collectors, the latency histograms of passes, batch commits and
// webhook deliveries, and the counters of suppressions by reason and
// authenticity. The parts of bounced that do the work report to it through
// small interfaces they declare themselves (imapwatch.Observer,
// webhook.Observer); the HTTP API serves its Registry at /metrics.
//
// Series (see README, "HTTP API"), besides go_* and process_*:
//
//	bounced_pass_duration_seconds{mailbox,result}          histogram; result ok, failed or skipped
//	bounced_batch_commit_duration_seconds{mailbox}         histogram; one WriteBatch, commit included
//	bounced_webhook_delivery_duration_seconds{webhook,result}  histogram; one POST, result ok or failed
//	bounced_suppressions_total{reason,authenticity,outcome}    counter; outcome started, renewed or held
//
// The series read from the scheduler and the database at scrape time
// (bounced_mailbox_*, bounced_suppressions_in_force, ...) are the HTTP API's
// (httpapi), so that every name stays what dashboards know.
package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bounced/bounced/store"
)

// Buckets of the histograms, in seconds.
var (
	// PassBuckets spans an empty pass (milliseconds) to a backlog of many
	// thousands of messages (minutes).
	PassBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	// CommitBuckets spans a small batch (a millisecond) to a slow or
	// locked database (seconds).
	CommitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// DeliveryBuckets spans a receiver on the same network to one at the
	// default 10 s timeout and beyond.
	DeliveryBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Outcomes of a suppression in bounced_suppressions_total.
const (
	// OutcomeStarted: a suppression put in force.
	OutcomeStarted = store.SuppressionStarted
	// OutcomeRenewed: a suppression in force renewed by another bounce.
	OutcomeRenewed = store.SuppressionRenewed
	// OutcomeHeld: a new suppression held by the brake.
	OutcomeHeld = store.SuppressionHeld
)

// Metrics is the registry and bounced's instruments in it. Its methods are
// safe for concurrent use.
type Metrics struct {
	// Registry holds every collector; the HTTP API gathers it.
	Registry *prometheus.Registry

	passDuration     *prometheus.HistogramVec
	commitDuration   *prometheus.HistogramVec
	deliveryDuration *prometheus.HistogramVec
	suppressions     *prometheus.CounterVec
}

// New returns the instruments, registered with a new registry together with
// the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bounced_pass_duration_seconds",
			Help:    "Time a pass over a mailbox took, by result (ok, failed, skipped: another replica held the lock).",
			Buckets: PassBuckets,
		}, []string{"mailbox", "result"}),
		commitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bounced_batch_commit_duration_seconds",
			Help:    "Time the store took to write and commit one batch (ledger, events, suppressions, checkpoint).",
			Buckets: CommitBuckets,
		}, []string{"mailbox"}),
		deliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bounced_webhook_delivery_duration_seconds",
			Help:    "Time one webhook request took until the receiver's answer, by result (ok: a 2xx; failed: anything else, no answer included).",
			Buckets: DeliveryBuckets,
		}, []string{"webhook", "result"}),
		suppressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bounced_suppressions_total",
			Help: "Suppressions bounces started, renewed or had held by the brake since the process started, by reason and by the authenticity of the bounce (verified, invalid, unsigned).",
		}, []string{"reason", "authenticity", "outcome"}),
	}
	m.Registry.MustRegister(
		without(collectors.NewGoCollector(), "go_memstats_alloc_bytes_total"),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.passDuration, m.commitDuration, m.deliveryDuration, m.suppressions,
	)
	return m
}

// ObservePass records a finished pass over mailbox. It implements
// imapwatch.Observer.
func (m *Metrics) ObservePass(mailbox string, d time.Duration, skipped bool, err error) {
	result := "ok"
	switch {
	case err != nil:
		result = "failed"
	case skipped:
		result = "skipped"
	}
	m.passDuration.WithLabelValues(mailbox, result).Observe(d.Seconds())
}

// ObserveBatch records a batch committed for mailbox: how long the store
// took, and its suppressions by reason and authenticity. It implements
// imapwatch.Observer.
func (m *Metrics) ObserveBatch(mailbox string, d time.Duration, res store.BatchResult) {
	m.commitDuration.WithLabelValues(mailbox).Observe(d.Seconds())
	for _, c := range res.Suppressions {
		m.CountSuppressions(c.Reason, c.Authenticity, c.Outcome, c.N)
	}
}

// CountSuppressions adds n suppressions of reason whose bounce had the
// given authenticity ("" when none was set: counted as unsigned) and outcome
// (OutcomeStarted, OutcomeRenewed, OutcomeHeld). It is the hook for code
// that changes suppressions outside a batch.
func (m *Metrics) CountSuppressions(reason, authenticity, outcome string, n int) {
	if n <= 0 {
		return
	}
	if authenticity == "" {
		authenticity = "unsigned"
	}
	m.suppressions.WithLabelValues(strings.ToLower(reason), strings.ToLower(authenticity), outcome).Add(float64(n))
}

// ObserveDelivery records one request to a webhook: how long it took and
// whether the receiver acknowledged it (err nil). It implements
// webhook.Observer.
func (m *Metrics) ObserveDelivery(webhook string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.deliveryDuration.WithLabelValues(webhook, result).Observe(d.Seconds())
}

// without returns c less the series named in drop. The Go collector's
// go_memstats_alloc_bytes_total (a counter) and go_memstats_alloc_bytes (a
// gauge) are one family name in OpenMetrics, which has counters drop their
// _total: strict OpenMetrics parsers refuse the scrape (client_golang issue
// 829). The gauge stays; the cumulative count of allocated bytes goes.
func without(c prometheus.Collector, drop ...string) prometheus.Collector {
	return filtered{c, drop}
}

// filtered is a collector less some series, by name.
type filtered struct {
	prometheus.Collector
	drop []string
}

// dropped reports whether d describes one of the series to drop. A Desc
// shows its name only in its String form.
func (f filtered) dropped(d *prometheus.Desc) bool {
	s := d.String()
	for _, name := range f.drop {
		if strings.Contains(s, `fqName: "`+name+`"`) {
			return true
		}
	}
	return false
}

func (f filtered) Describe(ch chan<- *prometheus.Desc) {
	all := make(chan *prometheus.Desc)
	go func() {
		f.Collector.Describe(all)
		close(all)
	}()
	for d := range all {
		if !f.dropped(d) {
			ch <- d
		}
	}
}

func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() {
		f.Collector.Collect(all)
		close(all)
	}()
	for m := range all {
		if !f.dropped(m.Desc()) {
			ch <- m
		}
	}
}
