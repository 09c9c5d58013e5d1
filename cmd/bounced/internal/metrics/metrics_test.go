package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bounced/bounced/store"
)

func TestGoCollectorWithoutTheOpenMetricsClash(t *testing.T) {
	m := New()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"go_goroutines", "go_memstats_alloc_bytes", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes"} {
		if !names[want] {
			t.Errorf("%s is not gathered", want)
		}
	}
	if names["go_memstats_alloc_bytes_total"] {
		t.Error("go_memstats_alloc_bytes_total is gathered: it clashes with go_memstats_alloc_bytes in OpenMetrics")
	}
	if n, err := testutil.GatherAndCount(m.Registry, "go_memstats_alloc_bytes_total"); err != nil || n != 0 {
		t.Errorf("GatherAndCount(go_memstats_alloc_bytes_total) = %d, %v", n, err)
	}
}

func TestCountsSuppressionsOfABatch(t *testing.T) {
	m := New()
	m.ObserveBatch("bounces", 10*time.Millisecond, store.BatchResult{Suppressions: []store.SuppressionCount{
		{Reason: "user_unknown", Authenticity: "verified", Outcome: store.SuppressionStarted, N: 2},
		{Reason: "user_unknown", Authenticity: "", Outcome: store.SuppressionHeld, N: 3}, // none set: unsigned
	}})
	m.CountSuppressions("complaint", "unsigned", OutcomeStarted, 1)
	m.CountSuppressions("complaint", "unsigned", OutcomeStarted, 0) // nothing
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"user_unknown", "verified", "started"}, 2},
		{[]string{"user_unknown", "unsigned", "held"}, 3},
		{[]string{"complaint", "unsigned", "started"}, 1},
	} {
		if got := testutil.ToFloat64(m.suppressions.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("bounced_suppressions_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.commitDuration); n != 1 {
		t.Errorf("%d commit histograms, want 1", n)
	}
	if OutcomeStarted != store.SuppressionStarted || OutcomeRenewed != store.SuppressionRenewed || OutcomeHeld != store.SuppressionHeld {
		t.Error("the outcome labels differ from the store's")
	}
}
