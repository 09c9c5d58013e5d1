package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReasonCount is the number of bounce events and distinct addresses of one
// reason.
type ReasonCount struct {
	Reason    string
	Scope     string
	Bounces   int64
	Addresses int64
}

// DomainCount is the number of bounce events and distinct addresses of one
// recipient domain, with its most frequent reason.
type DomainCount struct {
	Domain    string
	Bounces   int64
	Addresses int64
	TopReason string
}

// AuthenticityCount is the number of bounce events of one authenticity
// (verified, invalid, unsigned), and of those with the verdict suppress.
type AuthenticityCount struct {
	Authenticity string
	Bounces      int64
	Addresses    int64
	Suppressing  int64
}

// Summary counts the bounce events since a point in time. Auto-replies
// and delivery reports are recorded events but no bounces: they are
// counted apart and left out of everything else.
type Summary struct {
	Since           time.Time
	Bounces         int64
	Addresses       int64
	AutoReplies     int64         // out-of-office and other RFC 3834 replies
	DeliveryReports int64         // Action: delivered, relayed or expanded
	ByReason        []ReasonCount // most bounces first
	ByDomain        []DomainCount // most bounces first, at most the number asked for
	// ByAuthenticity counts them by authenticity: how many bounces
	// provably answer mail we sent. Most bounces first.
	ByAuthenticity []AuthenticityCount
}

// isBounce is the SQL condition for a bounce event that is a bounce: not an
// auto-reply and not a report of successful delivery.
const isBounce = `kind <> 'auto_reply' AND reason NOT IN ('auto_reply', 'delivered')`

// BounceSummary counts the bounce events that occurred in the last period
// (by the store's clock), by reason and by recipient domain (the top
// domains only). Auto-replies and delivery reports are counted apart.
func (s *Store) BounceSummary(ctx context.Context, period time.Duration, domains int) (Summary, error) {
	sum := Summary{Since: s.clock().Add(-period)}
	err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE `+isBounce+`),
			count(DISTINCT lower(recipient)) FILTER (WHERE recipient <> '' AND `+isBounce+`),
			count(*) FILTER (WHERE kind = 'auto_reply' OR reason = 'auto_reply'),
			count(*) FILTER (WHERE kind <> 'auto_reply' AND reason = 'delivered')
		FROM bounce_events WHERE occurred_at > $1`, sum.Since).Scan(&sum.Bounces, &sum.Addresses, &sum.AutoReplies, &sum.DeliveryReports)
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT reason, min(scope), count(*), count(DISTINCT lower(recipient)) FILTER (WHERE recipient <> '')
		FROM bounce_events WHERE occurred_at > $1 AND `+isBounce+`
		GROUP BY reason ORDER BY 3 DESC, 1`, sum.Since)
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by reason: %w", err)
	}
	sum.ByReason, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReasonCount, error) {
		var c ReasonCount
		err := r.Scan(&c.Reason, &c.Scope, &c.Bounces, &c.Addresses)
		return c, err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by reason: %w", err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT recipient_domain, count(*), count(DISTINCT lower(recipient)),
			mode() WITHIN GROUP (ORDER BY reason)
		FROM bounce_events WHERE occurred_at > $1 AND recipient_domain <> '' AND `+isBounce+`
		GROUP BY recipient_domain ORDER BY 2 DESC, 1 LIMIT $2`, sum.Since, domains)
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by domain: %w", err)
	}
	sum.ByDomain, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DomainCount, error) {
		var c DomainCount
		err := r.Scan(&c.Domain, &c.Bounces, &c.Addresses, &c.TopReason)
		return c, err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by domain: %w", err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT authenticity, count(*), count(DISTINCT lower(recipient)) FILTER (WHERE recipient <> ''),
			count(*) FILTER (WHERE verdict = 'suppress')
		FROM bounce_events WHERE occurred_at > $1 AND `+isBounce+`
		GROUP BY authenticity ORDER BY 2 DESC, 1`, sum.Since)
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by authenticity: %w", err)
	}
	sum.ByAuthenticity, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuthenticityCount, error) {
		var c AuthenticityCount
		err := r.Scan(&c.Authenticity, &c.Bounces, &c.Addresses, &c.Suppressing)
		return c, err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("summarising bounces by authenticity: %w", err)
	}
	return sum, nil
}

// Incident is a sender-side failure (scope sender) seen from one reporting
// MTA for mail of one sending domain, with what to do about it.
type Incident struct {
	SendingDomain    string
	ReportingMTA     string
	Reason           string
	Incidents        int64
	RecipientDomains int64
	LastSeen         time.Time
	Fix              string // from the reason's texts; "" when none is stored
}

// TopIncidents returns the sender-side incidents of the UTC days touched by
// the last period, most frequent first, with the fix in lang (falling back
// to English).
func (s *Store) TopIncidents(ctx context.Context, period time.Duration, limit int, lang string) ([]Incident, error) {
	since := s.clock().Add(-period)
	rows, err := s.pool.Query(ctx, `
		SELECT r.sending_domain, r.reporting_mta, r.reason, sum(r.incidents)::bigint,
			count(DISTINCT r.recipient_domain), max(r.last_seen),
			coalesce((SELECT t.fix FROM reason_texts AS t WHERE t.reason = r.reason AND t.lang IN ($2, 'en')
				ORDER BY t.lang = $2 DESC LIMIT 1), '')
		FROM reputation_daily AS r
		JOIN reasons AS rs ON rs.reason = r.reason AND rs.scope = 'sender'
		WHERE r.day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND r.last_seen > $1
		GROUP BY 1, 2, 3
		ORDER BY 4 DESC, 1, 2, 3
		LIMIT $3`, since, lang, limit)
	if err != nil {
		return nil, fmt.Errorf("reading sender-side incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Incident, error) {
		var in Incident
		err := r.Scan(&in.SendingDomain, &in.ReportingMTA, &in.Reason, &in.Incidents, &in.RecipientDomains, &in.LastSeen, &in.Fix)
		return in, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading sender-side incidents: %w", err)
	}
	return out, nil
}

// SuppressionCounts returns how many suppressions are in force now, and how
// many of them expire.
func (s *Store) SuppressionCounts(ctx context.Context) (inForce, expiring int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(expires_at) FROM suppressions WHERE `+inForceAt, s.clock()).
		Scan(&inForce, &expiring)
	if err != nil {
		return 0, 0, fmt.Errorf("counting suppressions: %w", err)
	}
	return inForce, expiring, nil
}
