package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// sampleLine is one sample of the text exposition format:
// name{label="value",...} value. Label values may hold escaped \\ \" \n.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,|\}))+)? (-?[0-9.e+]+|NaN|[+-]Inf)$`)

// scrape fetches /metrics and parses it, checking the format: every sample
// line well formed, and HELP and TYPE before the first sample of each
// family. It returns the samples by their name and labels as written.
func scrape(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	res := f.call("GET", "/metrics", nil)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", res.status, res.header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	help, typ := map[string]bool{}, map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(res.body), "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			help[name] = text != ""
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			if kind != "counter" && kind != "gauge" {
				t.Errorf("line %d: type %q", i+1, kind)
			}
			typ[name] = kind
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line %d is not a sample: %q", i+1, line)
			continue
		}
		if !help[m[1]] || typ[m[1]] == "" {
			t.Errorf("line %d: %s has no HELP or TYPE before it", i+1, m[1])
		}
		if typ[m[1]] == "counter" && !strings.HasSuffix(m[1], "_total") {
			t.Errorf("counter %s does not end in _total", m[1])
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("line %d: value %q: %v", i+1, m[3], err)
		}
		key := m[1] + m[2]
		if _, dup := samples[key]; dup {
			t.Errorf("line %d: %s twice", i+1, key)
		}
		samples[key] = v
	}
	return samples
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.suppress("complaint", "a@example.org", "b@example.org")
	f.status.set(imapwatch.Status{Mailbox: "bounces"}, imapwatch.Status{Mailbox: "we\"ird\\name\n"})

	before := scrape(t, f)
	for key, want := range map[string]float64{
		`bounced_build_info{version="v1.2.3",goversion="` + strings.TrimSpace(goVersion()) + `"}`: 1,
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

	// A pass over "bounces" and one more suppression.
	last := time.Date(2024, 5, 1, 12, 30, 0, 500_000_000, time.UTC)
	f.status.set(imapwatch.Status{Mailbox: "bounces", Running: true, LastSuccess: last,
		Totals: imapwatch.Totals{Passes: 3, FailedPasses: 1, Processed: 40, Unrecognized: 2, Failed: 1, Duplicates: 5, Held: 7}},
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
