package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The queries of the status page. They read the daily roll-ups of
// migration 004 (bounce_daily, message_daily) and the partial index of
// sender-side events, so each answers in milliseconds with millions of
// events.

// DayReasonCount is the number of bounce events of one reason on one UTC
// day.
type DayReasonCount struct {
	Day     time.Time // midnight UTC
	Reason  string
	Scope   string
	Bounces int64
}

// today is the store's current UTC day.
func (s *Store) today() time.Time {
	return s.clock().UTC().Truncate(24 * time.Hour)
}

// DailyBounces returns the bounce events per UTC day and reason of the last
// days days (today included), ordered by day and reason. Days without
// events are absent.
func (s *Store) DailyBounces(ctx context.Context, days int) ([]DayReasonCount, error) {
	from := s.today().AddDate(0, 0, 1-days)
	rows, err := s.pool.Query(ctx, `
		SELECT d.day, d.reason, r.scope, sum(d.bounces)::bigint
		FROM bounce_daily AS d JOIN reasons AS r ON r.reason = d.reason
		WHERE d.day >= $1::date
		GROUP BY 1, 2, 3 ORDER BY 1, 2`, from)
	if err != nil {
		return nil, fmt.Errorf("counting bounces per day: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayReasonCount, error) {
		var c DayReasonCount
		err := r.Scan(&c.Day, &c.Reason, &c.Scope, &c.Bounces)
		c.Day = time.Date(c.Day.Year(), c.Day.Month(), c.Day.Day(), 0, 0, 0, 0, time.UTC)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("counting bounces per day: %w", err)
	}
	return out, nil
}

// VerdictTotals returns the bounce events per verdict of the last days
// days (today included).
func (s *Store) VerdictTotals(ctx context.Context, days int) (map[string]int64, error) {
	from := s.today().AddDate(0, 0, 1-days)
	rows, err := s.pool.Query(ctx, `
		SELECT verdict, sum(bounces)::bigint FROM bounce_daily WHERE day >= $1::date GROUP BY 1`, from)
	if err != nil {
		return nil, fmt.Errorf("counting bounces per verdict: %w", err)
	}
	out := make(map[string]int64)
	var (
		verdict string
		n       int64
	)
	_, err = pgx.ForEachRow(rows, []any{&verdict, &n}, func() error {
		out[verdict] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting bounces per verdict: %w", err)
	}
	return out, nil
}

// SuppressionActivity is what happened to the suppression list in a
// period.
type SuppressionActivity struct {
	InForce int64 // suppressions in force now
	Started int64 // suppressions in force now that started in the period
	Lifted  int64 // suppressions lifted by hand in the period
	Held    int64 // suppressions the brake holds now, waiting to be released or discarded
}

// SuppressionActivity counts the suppressions in force, those of them that
// started since since, the lifts by hand since since, and the suppressions
// held by the brake.
func (s *Store) SuppressionActivity(ctx context.Context, since time.Time) (SuppressionActivity, error) {
	var a SuppressionActivity
	err := s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM suppressions WHERE `+inForceAt+`),
		       (SELECT count(*) FROM suppressions WHERE active_since >= $2 AND `+inForceAt+`),
		       (SELECT count(*) FROM suppression_audit WHERE action = 'lift' AND at >= $2),
		       (SELECT count(*) FROM held_suppressions)`,
		s.clock(), since).Scan(&a.InForce, &a.Started, &a.Lifted, &a.Held)
	if err != nil {
		return SuppressionActivity{}, fmt.Errorf("counting suppression activity: %w", err)
	}
	return a, nil
}

// SenderIncident counts the sender-side failures (scope sender) of one
// reason reported by one MTA for one recipient domain.
type SenderIncident struct {
	RecipientDomain string
	ReportingMTA    string
	Reason          string
	Last24h         int64
	Last7d          int64
	LastSeen        time.Time
}

// SenderIncidents returns the sender-side failures of the last 7 days
// (this UTC day and the 6 before, from reputation_daily) grouped by
// recipient domain, reporting MTA and reason, with the count of the last
// 24 hours (exact, from the events), those of the last 24 hours first, at
// most limit.
func (s *Store) SenderIncidents(ctx context.Context, limit int) ([]SenderIncident, error) {
	now := s.clock()
	rows, err := s.pool.Query(ctx, `
		WITH week AS (
			SELECT r.recipient_domain, r.reporting_mta, r.reason::text AS reason,
				sum(r.incidents)::bigint AS n, max(r.last_seen) AS last_seen
			FROM reputation_daily AS r JOIN reasons AS rs ON rs.reason = r.reason AND rs.scope = 'sender'
			WHERE r.day >= $1::date
			GROUP BY 1, 2, 3
		), day AS (
			-- reputation_daily keys the reporting MTA lower-cased, without a
			-- trailing dot (store.reputation); the events keep it as sent.
			SELECT recipient_domain, lower(rtrim(btrim(reporting_mta), '.')) AS reporting_mta, reason::text AS reason,
				count(*) AS n
			FROM bounce_events
			WHERE scope = 'sender' AND occurred_at > $2
			GROUP BY 1, 2, 3
		)
		SELECT w.recipient_domain, w.reporting_mta, w.reason, coalesce(d.n, 0), greatest(w.n, coalesce(d.n, 0)), w.last_seen
		FROM week AS w LEFT JOIN day AS d USING (recipient_domain, reporting_mta, reason)
		ORDER BY 4 DESC, 5 DESC, 1, 2, 3
		LIMIT $3`, s.today().AddDate(0, 0, -6), now.Add(-24*time.Hour), limit)
	if err != nil {
		return nil, fmt.Errorf("reading sender-side incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SenderIncident, error) {
		var c SenderIncident
		err := r.Scan(&c.RecipientDomain, &c.ReportingMTA, &c.Reason, &c.Last24h, &c.Last7d, &c.LastSeen)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading sender-side incidents: %w", err)
	}
	return out, nil
}

// DomainBounces counts the bounce events of one recipient domain over a
// number of days: hard ones (verdict suppress), soft ones (verdict soft),
// all of them, and all of them per day, oldest day first.
type DomainBounces struct {
	Domain string
	Hard   int64
	Soft   int64
	Total  int64
	Daily  []int64
}

// WorstDomains returns the recipient domains with the most hard bounces
// (hard true) or soft bounces (hard false) in the last days days, at most
// limit, with their daily totals.
func (s *Store) WorstDomains(ctx context.Context, days, limit int, hard bool) ([]DomainBounces, error) {
	from := s.today().AddDate(0, 0, 1-days)
	order := "3 DESC" // soft
	if hard {
		order = "2 DESC"
	}
	rows, err := s.pool.Query(ctx, `
		WITH worst AS (
			SELECT recipient_domain,
				coalesce(sum(bounces) FILTER (WHERE verdict = 'suppress'), 0)::bigint AS hard,
				coalesce(sum(bounces) FILTER (WHERE verdict = 'soft'), 0)::bigint AS soft,
				sum(bounces)::bigint AS total
			FROM bounce_daily
			WHERE day >= $1::date AND recipient_domain <> ''
			GROUP BY 1
			ORDER BY `+order+`, 1
			LIMIT $2
		)
		SELECT w.recipient_domain, w.hard, w.soft, w.total,
			array(SELECT coalesce(sum(d.bounces), 0)::bigint
			      FROM generate_series($1::date, $3::date, '1 day') AS g(day)
			      LEFT JOIN bounce_daily AS d ON d.recipient_domain = w.recipient_domain AND d.day = g.day::date
			      GROUP BY g.day ORDER BY g.day)
		FROM worst AS w
		ORDER BY `+order+`, 1`, from, limit, s.today())
	if err != nil {
		return nil, fmt.Errorf("reading the worst domains: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DomainBounces, error) {
		var c DomainBounces
		err := r.Scan(&c.Domain, &c.Hard, &c.Soft, &c.Total, &c.Daily)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the worst domains: %w", err)
	}
	filtered := out[:0]
	for _, d := range out {
		if (hard && d.Hard > 0) || (!hard && d.Soft > 0) {
			filtered = append(filtered, d)
		}
	}
	return filtered, nil
}

// SearchSuppressions returns a page of the suppressions in force, ordered
// by address (case-insensitively), after the address after: with an empty
// query all of them; with a query that contains '@' past its first
// character those whose address begins with it; otherwise those of the
// domain query (a leading '@' is ignored) and those whose address begins
// with it.
func (s *Store) SearchSuppressions(ctx context.Context, query, after string, limit int) ([]Suppression, error) {
	query = strings.ToLower(strings.TrimSpace(query))
	prefix := likePrefix(query)
	domain := query
	if len(domain) > 0 && domain[0] == '@' {
		domain = domain[1:]
		prefix = "" // "@example.org": the domain only
	}
	args := []any{s.clock(), strings.ToLower(after), limit}
	cond := "true"
	switch {
	case query == "":
	case indexAfterFirst(query, '@'):
		cond, args = "lower(address) LIKE $4", append(args, prefix)
	case prefix == "":
		cond, args = "lower(split_part(address, '@', -1)) = $4", append(args, domain)
	default:
		cond, args = "(lower(split_part(address, '@', -1)) = $4 OR lower(address) LIKE $5)", append(args, domain, prefix)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+suppressionColumns+` FROM suppressions
		WHERE `+inForceAt+` AND lower(address) > $2 AND `+cond+`
		ORDER BY lower(address) LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("searching suppressions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Suppression, error) { return scanSuppression(r) })
	if err != nil {
		return nil, fmt.Errorf("searching suppressions: %w", err)
	}
	return out, nil
}

// likePrefix returns a LIKE pattern matching the strings that begin with
// q, its wildcards escaped; "" for an empty q.
func likePrefix(q string) string {
	if q == "" {
		return ""
	}
	out := make([]byte, 0, len(q)+1)
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '%', '_', '\\':
			out = append(out, '\\')
		}
		out = append(out, q[i])
	}
	return string(append(out, '%'))
}

// indexAfterFirst reports whether c occurs in s after its first byte.
func indexAfterFirst(s string, c byte) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// MailboxActivity is what the ledger knows of one mailbox.
type MailboxActivity struct {
	Mailbox       string
	Outcomes      map[string]int64 // messages per outcome (processed, unrecognized, failed), all time
	LastProcessed time.Time        // zero when none
	LastUID       int64            // the checkpoint; 0 when none
	CheckpointAt  time.Time        // when the checkpoint last moved; zero when none
}

// MailboxActivity returns the messages per outcome and the checkpoint of
// every mailbox the store has seen, ordered by name.
func (s *Store) MailboxActivity(ctx context.Context) ([]MailboxActivity, error) {
	rows, err := s.pool.Query(ctx, `
		WITH names AS (SELECT mailbox FROM message_daily UNION SELECT mailbox FROM mailboxes)
		SELECT n.mailbox, coalesce(m.last_uid, 0), m.updated_at,
			coalesce((SELECT jsonb_object_agg(outcome, n) FROM (
				SELECT outcome, sum(messages)::bigint AS n FROM message_daily AS d WHERE d.mailbox = n.mailbox GROUP BY 1) AS o), '{}'),
			(SELECT max(last_processed) FROM message_daily AS d WHERE d.mailbox = n.mailbox)
		FROM names AS n LEFT JOIN mailboxes AS m ON m.mailbox = n.mailbox
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("reading mailbox activity: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MailboxActivity, error) {
		var (
			a             MailboxActivity
			checkpointAt  *time.Time
			lastProcessed *time.Time
		)
		err := r.Scan(&a.Mailbox, &a.LastUID, &checkpointAt, &a.Outcomes, &lastProcessed)
		if checkpointAt != nil {
			a.CheckpointAt = *checkpointAt
		}
		if lastProcessed != nil {
			a.LastProcessed = *lastProcessed
		}
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading mailbox activity: %w", err)
	}
	return out, nil
}
