package httpapi_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// scrape fetches /metrics in the text format and parses it with
// prometheus/common/expfmt. It returns the samples keyed by name and
// labels, the labels sorted by name and their values escaped as in the text
// format (name{a="x",b="y"}); a histogram gives name_bucket{...,le="..."},
// name_sum and name_count.
func scrape(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	samples, _ := scrapeAs(t, f, "")
	return samples
}

// scrapeAs fetches /metrics with the Accept header given ("" for none),
// decodes it in the format the server chose, and returns the samples (as
// scrape) and the metric families by name.
func scrapeAs(t *testing.T, f *fixture, accept string) (map[string]float64, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokenNew)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	format := expfmt.ResponseFormat(res.Header)
	if format.FormatType() == expfmt.TypeUnknown {
		t.Fatalf("/metrics: unknown format %q", res.Header.Get("Content-Type"))
	}
	dec := expfmt.NewDecoder(res.Body, format)
	families := map[string]*dto.MetricFamily{}
	samples := map[string]float64{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("/metrics (%s) does not parse: %v", format, err)
		}
		name := mf.GetName()
		if _, dup := families[name]; dup {
			t.Errorf("family %s twice", name)
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		families[name] = &mf
		for _, m := range mf.GetMetric() {
			labels := m.GetLabel()
			add := func(sample string, v float64, extra ...string) {
				key := sample + labelKey(labels, extra...)
				if _, dup := samples[key]; dup {
					t.Errorf("sample %s twice", key)
				}
				samples[key] = v
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", float64(b.GetCumulativeCount()), "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))
				}
				if bs := h.GetBucket(); len(bs) == 0 || !math.IsInf(bs[len(bs)-1].GetUpperBound(), 1) {
					add(name+"_bucket", float64(h.GetSampleCount()), "le", "+Inf")
				}
				add(name+"_sum", h.GetSampleSum())
				add(name+"_count", float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				add(name+"_sum", m.GetSummary().GetSampleSum())
				add(name+"_count", float64(m.GetSummary().GetSampleCount()))
			}
		}
	}
	return samples, families
}

// labelEscaper escapes a label value as the text format does.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labelKey writes labels (and extra name/value pairs) sorted by name as
// {a="x",b="y"}, or "" when there are none.
func labelKey(labels []*dto.LabelPair, extra ...string) string {
	var pairs []string
	for _, l := range labels {
		pairs = append(pairs, l.GetName()+`="`+labelEscaper.Replace(l.GetValue())+`"`)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		pairs = append(pairs, extra[i]+`="`+labelEscaper.Replace(extra[i+1])+`"`)
	}
	if len(pairs) == 0 {
		return ""
	}
	sort.Strings(pairs)
	return "{" + strings.Join(pairs, ",") + "}"
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "a@example.org", "b@example.org")
	f.status.set(imapwatch.Status{Mailbox: "bounces"}, imapwatch.Status{Mailbox: "we\"ird\\name\n"})

	before := scrape(t, f)
	for key, want := range map[string]float64{
		`bounced_build_info{goversion="` + strings.TrimSpace(goVersion()) + `",version="v1.2.3"}`: 1,
		`bounced_mailbox_passes_total{mailbox="bounces"}`:                                         0,
		`bounced_mailbox_passes_total{mailbox="we\"ird\\name\n"}`:                                 0,
		`bounced_mailbox_messages_total{mailbox="bounces",outcome="processed"}`:                   0,
		`bounced_mailbox_last_success_timestamp_seconds{mailbox="bounces"}`:                       0,
		`bounced_mailbox_running{mailbox="bounces"}`:                                              0,
		`bounced_suppressions_in_force`:                                                           2,
		`bounced_suppressions_expiring`:                                                           0,
		`bounced_suppressions_held`:                                                               0,
		`bounced_metrics_scrape_errors_total`:                                                     0,
	} {
		if got, ok := before[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if got, ok := before[`bounced_mailbox_backlog{mailbox="bounces"}`]; ok {
		t.Errorf("bounced_mailbox_backlog = %v before any pass counted, want it absent", got)
	}

	// A pass over "bounces" and one more suppression.
	last := time.Date(2024, 5, 1, 12, 30, 0, 500_000_000, time.UTC)
	f.status.set(imapwatch.Status{Mailbox: "bounces", Running: true, LastSuccess: last,
		Backlog: imapwatch.Backlog{InFolder: 120, Waiting: 100, Left: 55, Counted: last},
		Totals:  imapwatch.Totals{Passes: 3, FailedPasses: 1, Processed: 40, Unrecognized: 2, Failed: 1, Duplicates: 5, Held: 7}},
		imapwatch.Status{Mailbox: "we\"ird\\name\n", LastError: "connection refused"})
	f.suppress("user_unknown", "c@example.org")
	f.status.mu.Lock()
	f.status.leases = imapwatch.LeaseStats{Replica: "east-1", Held: 4, Losses: 2, TakeOvers: 1}
	f.status.mu.Unlock()
	after := scrape(t, f)
	for key, want := range map[string]float64{
		`bounced_mailbox_passes_total{mailbox="bounces"}`:                          3,
		`bounced_mailbox_failed_passes_total{mailbox="bounces"}`:                   1,
		`bounced_mailbox_messages_total{mailbox="bounces",outcome="processed"}`:    40,
		`bounced_mailbox_messages_total{mailbox="bounces",outcome="unrecognized"}`: 2,
		`bounced_mailbox_messages_total{mailbox="bounces",outcome="failed"}`:       1,
		`bounced_mailbox_messages_total{mailbox="bounces",outcome="duplicate"}`:    5,
		`bounced_mailbox_last_success_timestamp_seconds{mailbox="bounces"}`:        float64(last.Unix()) + 0.5,
		`bounced_mailbox_running{mailbox="bounces"}`:                               1,
		`bounced_mailbox_held_suppressions_total{mailbox="bounces"}`:               7,
		`bounced_mailbox_backlog{mailbox="bounces"}`:                               55,
		`bounced_mailbox_last_pass_failed{mailbox="we\"ird\\name\n"}`:              1,
		`bounced_suppressions_in_force`:                                            3,
		`bounced_leases_held{replica="east-1"}`:                                    4,
		`bounced_lease_losses_total{replica="east-1"}`:                             2,
		`bounced_lease_takeovers_total{replica="east-1"}`:                          1,
	} {
		if got := after[key]; got != want {
			t.Errorf("after a pass: %s = %v, want %v", key, got, want)
		}
	}
	if _, ok := after[`bounced_webhook_pending_events{webhook="crm"}`]; ok {
		t.Error("webhook metrics before any webhook has a cursor")
	}

	// A webhook that starts from the beginning has all three to deliver;
	// once it acknowledged them, none.
	ctx := context.Background()
	from, err := f.store.WebhookCursor(ctx, "crm", store.CursorStartBeginning)
	if err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, f)[`bounced_webhook_pending_events{webhook="crm"}`]; got != 3 {
		t.Errorf("pending for a new webhook = %v, want 3", got)
	}
	var changes []store.SuppressionChange
	deadline := time.Now().Add(10 * time.Second)
	for len(changes) < 3 && time.Now().Before(deadline) {
		// Changes are read only past transactions still running on the
		// shared server: wait for the three.
		if changes, _, err = f.store.Changes(ctx, from, 10); err != nil {
			t.Fatal(err)
		}
		if len(changes) < 3 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(changes) != 3 {
		t.Fatalf("%d changes to deliver, want 3", len(changes))
	}
	if err := f.store.AdvanceWebhookCursor(ctx, "crm", changes[2].Position, 3); err != nil {
		t.Fatal(err)
	}
	delivered := scrape(t, f)
	for key, want := range map[string]float64{
		`bounced_webhook_pending_events{webhook="crm"}`:         0,
		`bounced_webhook_delivered_events_total{webhook="crm"}`: 3,
	} {
		if got := delivered[key]; got != want {
			t.Errorf("after delivery: %s = %v, want %v", key, got, want)
		}
	}
	if delivered[`bounced_webhook_last_delivery_timestamp_seconds{webhook="crm"}`] == 0 {
		t.Error("no last delivery time after a delivery")
	}
}

func TestMetricsDatabaseError(t *testing.T) {
	f := newFixture(t)
	s, err := store.Open(context.Background(), f.url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // every query now fails
	f.srv = f.serve(s)
	f.status.set(imapwatch.Status{Mailbox: "bounces"})
	for i := 1; i <= 2; i++ {
		got := scrape(t, f)
		if _, ok := got["bounced_suppressions_in_force"]; ok {
			t.Errorf("scrape %d: the suppression gauge is there without a database", i)
		}
		if got["bounced_metrics_scrape_errors_total"] != float64(i) {
			t.Errorf("scrape %d: scrape errors = %v", i, got["bounced_metrics_scrape_errors_total"])
		}
		if _, ok := got[`bounced_mailbox_passes_total{mailbox="bounces"}`]; !ok {
			t.Errorf("scrape %d: the mailbox metrics are missing", i)
		}
	}

	// Any other failure of the store is a 500 that shows nothing of it and
	// is logged.
	res := f.call("GET", "/v1/suppressions", nil)
	if res.status != http.StatusInternalServerError || res.errorText(t) != "internal error" {
		t.Errorf("list on a closed store: %d %s", res.status, res.body)
	}
	if logs := f.logs.String(); !strings.Contains(logs, `level=ERROR msg="API request failed"`) || !strings.Contains(logs, "closed pool") {
		t.Errorf("the failure is not logged:\n%s", logs)
	}
}

func goVersion() string { return runtime.Version() }

// readmeSeries returns the bounced_* names of README.md's "### Metrics"
// section: the series the README promises operators.
func readmeSeries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n### Metrics\n")
	if !ok {
		t.Fatal(`README.md has no "### Metrics" section`)
	}
	if i := strings.Index(section, "\n### "); i >= 0 {
		section = section[:i]
	}
	var names []string
	for _, n := range regexp.MustCompile("`(bounced_[a-z_]+)").FindAllStringSubmatch(section, -1) {
		if !slices.Contains(names, n[1]) {
			names = append(names, n[1])
		}
	}
	if len(names) < 15 {
		t.Fatalf("README's Metrics section names only %d series: %v", len(names), names)
	}
	return names
}

// TestMetricsSeries scrapes /metrics after a real batch, a pass and a
// webhook delivery were observed, parses it with expfmt, and checks the Go
// and process collectors, the histograms, the suppression counters and
// every series README.md lists; and that OpenMetrics is served when asked.
func TestMetricsSeries(t *testing.T) {
	f := newFixture(t)
	f.status.set(imapwatch.Status{Mailbox: "bounces", Totals: imapwatch.Totals{Passes: 1},
		Backlog: imapwatch.Backlog{InFolder: 9, Waiting: 8, Left: 6, Counted: time.Now()}})
	if _, err := f.store.WebhookCursor(context.Background(), "crm", store.CursorStartBeginning); err != nil {
		t.Fatal(err)
	}

	// A real batch: h0@flood.example in force, h1..h4 held (unsigned,
	// user_unknown). The watcher hands its result to the instruments.
	rep := &dsn.Report{Kind: dsn.KindDSN}
	for i := range 5 {
		rep.Recipients = append(rep.Recipients, dsn.Recipient{
			Address: fmt.Sprintf("h%d@flood.example", i), Action: dsn.ActionFailed, Status: "5.1.1",
			Classification: dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
		})
	}
	res, err := f.store.WriteBatch(context.Background(), store.Batch{
		Mailbox: "bounces", UIDValidity: 1, LastUID: 1, Limits: store.Limits{PerMessage: 1},
		Messages: []store.Message{{UID: 1, MessageID: "<m@x>", ContentHash: sha256.Sum256([]byte("m")), Outcome: store.OutcomeProcessed, Report: rep}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.metrics.ObserveBatch("bounces", 30*time.Millisecond, res)
	f.metrics.ObservePass("bounces", 1500*time.Millisecond, false, nil)
	f.metrics.ObservePass("bounces", 5*time.Millisecond, true, nil)
	f.metrics.ObserveDelivery("crm", 80*time.Millisecond, nil)
	f.metrics.ObserveDelivery("crm", 10*time.Second, errors.New("503"))

	samples, families := scrapeAs(t, f, "")
	for key, want := range map[string]float64{
		`bounced_pass_duration_seconds_bucket{le="1",mailbox="bounces",result="ok"}`:                  0,
		`bounced_pass_duration_seconds_bucket{le="2.5",mailbox="bounces",result="ok"}`:                1,
		`bounced_pass_duration_seconds_count{mailbox="bounces",result="skipped"}`:                     1,
		`bounced_batch_commit_duration_seconds_bucket{le="0.05",mailbox="bounces"}`:                   1,
		`bounced_batch_commit_duration_seconds_bucket{le="0.025",mailbox="bounces"}`:                  0,
		`bounced_webhook_delivery_duration_seconds_bucket{le="0.1",result="ok",webhook="crm"}`:        1,
		`bounced_webhook_delivery_duration_seconds_count{result="failed",webhook="crm"}`:              1,
		`bounced_suppressions_total{authenticity="unsigned",outcome="started",reason="user_unknown"}`: 1,
		`bounced_suppressions_total{authenticity="unsigned",outcome="held",reason="user_unknown"}`:    4,
		`bounced_suppressions_held`:                   4,
		`bounced_suppressions_in_force`:               1,
		`bounced_leases_held{replica="test-replica"}`: 1,
		`bounced_mailbox_backlog{mailbox="bounces"}`:  6,
	} {
		if got, ok := samples[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if families["bounced_pass_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("bounced_pass_duration_seconds is %v, want a histogram", families["bounced_pass_duration_seconds"].GetType())
	}
	if samples["go_goroutines"] < 1 {
		t.Errorf("go_goroutines = %v", samples["go_goroutines"])
	}
	if samples["process_resident_memory_bytes"] < 1<<20 {
		t.Errorf("process_resident_memory_bytes = %v", samples["process_resident_memory_bytes"])
	}
	for _, name := range readmeSeries(t) {
		if _, ok := families[name]; !ok {
			t.Errorf("README lists %s, which /metrics does not serve", name)
		}
	}

	// Prometheus asks for OpenMetrics; the library negotiates it.
	req, _ := http.NewRequest("GET", f.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tokenNew)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(string(body), "# EOF\n") {
		t.Errorf("OpenMetrics scrape: Content-Type %q, end %q", ct, body[max(0, len(body)-20):])
	}
	om, omFamilies := scrapeAs(t, f, "application/openmetrics-text;version=1.0.0")
	if om[`bounced_pass_duration_seconds_count{mailbox="bounces",result="ok"}`] != 1 || omFamilies["go_goroutines"] == nil {
		t.Errorf("the OpenMetrics scrape does not parse to the same series: %d families", len(omFamilies))
	}
}
