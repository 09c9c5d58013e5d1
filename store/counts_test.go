package store

import (
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

// TestBatchResultCountsSuppressions: BatchResult.Suppressions counts what a
// batch started, renewed and held, by reason and by the authenticity of the
// bounce, for the metrics (bounced_suppressions_total).
func TestBatchResultCountsSuppressions(t *testing.T) {
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	res := mustWrite(t, s, batchOf(
		withAuthenticity(msg(1, "v", t0, rcpt{"v@example.org", dsn.ReasonUserUnknown}, rcpt{"w@example.org", dsn.ReasonUserUnknown}), dsn.AuthenticityVerified),
		msg(2, "u", t0, rcpt{"u@example.org", dsn.ReasonHostUnknown}),
		msg(3, "a", t0, rcpt{"alert@example.org", dsn.ReasonBlocklisted}), // sender-side: no suppression
	))
	want := []SuppressionCount{
		{Reason: "host_unknown", Authenticity: "unsigned", Outcome: SuppressionStarted, N: 1},
		{Reason: "user_unknown", Authenticity: "verified", Outcome: SuppressionStarted, N: 2},
	}
	if got := sortedCounts(res.Suppressions); !slices.Equal(got, want) {
		t.Errorf("first batch counts %+v, want %+v", got, want)
	}

	// The same address an hour later renews; a flood beyond the
	// per-message limit is held.
	clk.Add(time.Hour)
	b := batchOf(msg(4, "v2", t0.Add(time.Minute), rcpt{"v@example.org", dsn.ReasonUserUnknown}), flood(5, "f", t0, 4))
	b.Limits = Limits{PerMessage: 1}
	res = mustWrite(t, s, b)
	want = []SuppressionCount{
		{Reason: "user_unknown", Authenticity: "unsigned", Outcome: SuppressionHeld, N: 3},
		{Reason: "user_unknown", Authenticity: "unsigned", Outcome: SuppressionRenewed, N: 1},
		{Reason: "user_unknown", Authenticity: "unsigned", Outcome: SuppressionStarted, N: 1},
	}
	if got := sortedCounts(res.Suppressions); !slices.Equal(got, want) {
		t.Errorf("second batch counts %+v, want %+v", got, want)
	}
	n := 0
	for _, c := range res.Suppressions {
		if c.Outcome != SuppressionHeld {
			n += c.N
		}
	}
	if n != res.Suppressed || res.Held() != 3 {
		t.Errorf("counts add up to %d in force and %d held; result says %d and %d", n, 3, res.Suppressed, res.Held())
	}
}

func sortedCounts(cs []SuppressionCount) []SuppressionCount {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b SuppressionCount) int {
		for _, c := range [][2]string{{a.Reason, b.Reason}, {a.Authenticity, b.Authenticity}, {a.Outcome, b.Outcome}} {
			if c[0] != c[1] {
				if c[0] < c[1] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	return out
}
