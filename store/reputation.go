package store

import (
	"cmp"
	"slices"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
)

// repKey is one reputation counter.
type repKey struct {
	day                          time.Time
	recipient, sending, reporter string
	reason                       string
}

type repCount struct {
	n           int64
	first, last time.Time
}

// reputation counts the batch's sender-side incidents (the verdict alert)
// per day, recipient domain, sending domain, reporting MTA and reason. The
// other failures are counted from bounce_events (view daily_bounces).
func reputation(events []event) map[repKey]*repCount {
	out := map[repKey]*repCount{}
	for _, ev := range events {
		if ev.res.Verdict != dsn.VerdictAlert {
			continue
		}
		y, m, d := ev.occurred.Date()
		k := repKey{time.Date(y, m, d, 0, 0, 0, 0, time.UTC), ev.domain, ev.sending, ev.reporting, string(ev.res.Reason)}
		c := out[k]
		if c == nil {
			c = &repCount{first: ev.occurred, last: ev.occurred}
			out[k] = c
		}
		c.n++
		if ev.occurred.Before(c.first) {
			c.first = ev.occurred
		}
		if ev.occurred.After(c.last) {
			c.last = ev.occurred
		}
	}
	return out
}

func queueReputation(batch *pgx.Batch, rep map[repKey]*repCount) {
	keys := make([]repKey, 0, len(rep))
	for k := range rep {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b repKey) int {
		return cmp.Or(a.day.Compare(b.day), cmp.Compare(a.recipient, b.recipient), cmp.Compare(a.sending, b.sending),
			cmp.Compare(a.reporter, b.reporter), cmp.Compare(a.reason, b.reason))
	})
	n := len(keys)
	days, first, last := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	rcpt, send, mta, reason := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	counts := make([]int64, n)
	for i, k := range keys {
		c := rep[k]
		days[i], rcpt[i], send[i], mta[i], reason[i] = k.day, k.recipient, k.sending, k.reporter, k.reason
		counts[i], first[i], last[i] = c.n, c.first, c.last
	}
	batch.Queue(`
		INSERT INTO reputation_daily AS r (day, recipient_domain, sending_domain, reporting_mta, reason, incidents, first_seen, last_seen)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::timestamptz[])
		ON CONFLICT (day, recipient_domain, sending_domain, reporting_mta, reason) DO UPDATE SET
			incidents = r.incidents + excluded.incidents,
			first_seen = least(r.first_seen, excluded.first_seen),
			last_seen = greatest(r.last_seen, excluded.last_seen)`,
		days, rcpt, send, mta, reason, counts, first, last)
}
