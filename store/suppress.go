package store

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
)

// suppression is one address to suppress (or whose suppression to renew),
// merged from the batch's events.
type suppression struct {
	key       string // lower(address)
	address   string
	reason    string
	scope     string
	first     time.Time
	last      time.Time
	count     int        // bounces of this batch that renew a suppression in force
	start     int        // bounces that start a suppression (the counted soft bounces)
	expires   *time.Time // nil: permanent
	messageID string
	status    string
	diag      string
	auth      string // authenticity of the evidence

	order    int       // place of its first event in the batch: the brake takes them in this order
	uid      uint32    // message of that first event: the per-message limit counts by it
	bounceID string    // that message's own Message-ID, for held evidence
	verified time.Time // latest verified bounce, zero if none: only those re-suppress a lifted address
}

// take counts ev, and makes it the evidence when it is the latest seen.
func (sp *suppression) take(ev event) {
	if sp.count == 0 || ev.occurred.After(sp.last) || ev.occurred.Equal(sp.last) {
		sp.address = ev.address
		sp.reason, sp.scope = string(ev.res.Reason), string(ev.res.Scope)
		sp.messageID, sp.status, sp.diag = ev.res.OriginalMessageID, ev.res.Status, ev.res.Diagnostic
		sp.auth = string(ev.res.Authenticity)
	}
	if sp.count == 0 {
		sp.order, sp.uid, sp.bounceID = ev.order, ev.uid, ev.bounceID
	}
	if ev.res.Authenticity == dsn.AuthenticityVerified && ev.occurred.After(sp.verified) {
		sp.verified = ev.occurred
	}
	if sp.count == 0 || ev.occurred.Before(sp.first) {
		sp.first = ev.occurred
	}
	if sp.count == 0 || ev.occurred.After(sp.last) {
		sp.last = ev.occurred
	}
	sp.count++
	sp.start++
}

// immediateSuppressions merges the events with the verdict suppress by
// address.
func immediateSuppressions(events []event) map[string]*suppression {
	out := map[string]*suppression{}
	for _, ev := range events {
		if ev.res.Verdict != dsn.VerdictSuppress || ev.address == "" {
			continue
		}
		key := strings.ToLower(ev.address)
		sp := out[key]
		if sp == nil {
			sp = &suppression{key: key}
			out[key] = sp
		}
		sp.take(ev)
	}
	return out
}

// softSuppressions returns the suppressions due by soft bounces: addresses
// with a soft bounce in events that now have Policy.SoftThreshold soft
// bounces counted within Policy.SoftWindow (counted, by lower-cased address).
func (s *Store) softSuppressions(events []event, counted map[string][]time.Time) []*suppression {
	incoming := map[string]*suppression{}
	for _, ev := range events {
		if ev.res.Verdict != dsn.VerdictSoft || ev.address == "" {
			continue
		}
		key := strings.ToLower(ev.address)
		sp := incoming[key]
		if sp == nil {
			sp = &suppression{key: key}
			incoming[key] = sp
		}
		sp.take(ev)
	}
	var due []*suppression
	for key, times := range counted {
		sp := incoming[key]
		if sp == nil || len(times) < s.policy.SoftThreshold {
			continue
		}
		sp.first = slices.MinFunc(times, time.Time.Compare).UTC()
		sp.last = slices.MaxFunc(times, time.Time.Compare).UTC()
		sp.start = len(times)
		exp := sp.last.Add(s.policy.SoftExpiry)
		sp.expires = &exp
		due = append(due, sp)
	}
	return due
}

// mergeSuppressions merges the soft-bounce suppressions due into the
// immediate ones and returns them sorted by key. An immediate (permanent)
// suppression wins over an expiring one for the reason and evidence.
func mergeSuppressions(imm map[string]*suppression, soft []*suppression) []*suppression {
	for _, sp := range soft {
		hard := imm[sp.key]
		if hard == nil {
			imm[sp.key] = sp
			continue
		}
		hard.count += sp.count
		hard.start += sp.start
		if sp.first.Before(hard.first) {
			hard.first = sp.first
		}
		if sp.last.After(hard.last) {
			hard.last = sp.last
		}
		if sp.order < hard.order {
			hard.order, hard.uid, hard.bounceID = sp.order, sp.uid, sp.bounceID
		}
		if sp.verified.After(hard.verified) {
			hard.verified = sp.verified
		}
	}
	out := make([]*suppression, 0, len(imm))
	for _, sp := range imm {
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b *suppression) int { return cmp.Compare(a.key, b.key) })
	return out
}

// upsertSuppressions is the suppression upsert. A new row counts the
// bounces that started it ($7: for soft bounces, all those counted). An
// existing suppression in force (not lifted, not expired at $1) is renewed:
// it counts the batch's bounces ($8, proposed as last_write_count), a
// permanent one stays permanent, an expiring one is extended. One not in
// force starts over. A suppression lifted by hand is started again only by
// a bounce seen after the lift (WriteBatch also demands a verified one).
// Newly started ones are announced by NOTIFY.
const upsertSuppressions = `
	WITH up AS (
		INSERT INTO suppressions AS s (address, reason, scope, first_seen, last_seen, bounce_count, last_write_count,
			expires_at, evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity, manual,
			active_since, updated_at)
		SELECT DISTINCT ON (lower(u.address)) u.address, u.reason, u.scope, u.first_seen, u.last_seen, u.start_n,
			u.renew_n, u.expires_at, u.message_id, u.status, u.diagnostic, u.authenticity, false,
			$1::timestamptz, $1::timestamptz
		FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::integer[],
			$8::integer[], $9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::text[])
			AS u(address, reason, scope, first_seen, last_seen, start_n, renew_n, expires_at, message_id, status,
				diagnostic, authenticity)
		ORDER BY lower(u.address)
		ON CONFLICT ((lower(address))) DO UPDATE SET ` + startOrRenew + `
		WHERE s.lifted_at IS NULL OR excluded.last_seen > s.lifted_at
		RETURNING address, active_since = $1 AS started
	)
	SELECT address, started, CASE WHEN started THEN pg_notify('` + SuppressionChannel + `', address)::text END
	FROM up`

// startOrRenew is the ON CONFLICT update of a suppression row s by a
// proposed one (excluded) at $1: a suppression in force is renewed (its
// start and, when permanent against an expiring proposal, its evidence
// kept), any other starts over as the proposal.
const startOrRenew = `
	address = CASE WHEN ` + inForce + ` THEN s.address ELSE excluded.address END,
	reason = CASE WHEN ` + keepEvidence + ` THEN s.reason ELSE excluded.reason END,
	scope = CASE WHEN ` + keepEvidence + ` THEN s.scope ELSE excluded.scope END,
	evidence_message_id = CASE WHEN ` + keepEvidence + ` THEN s.evidence_message_id ELSE excluded.evidence_message_id END,
	evidence_status = CASE WHEN ` + keepEvidence + ` THEN s.evidence_status ELSE excluded.evidence_status END,
	evidence_diagnostic = CASE WHEN ` + keepEvidence + ` THEN s.evidence_diagnostic ELSE excluded.evidence_diagnostic END,
	evidence_authenticity = CASE WHEN ` + keepEvidence + ` THEN s.evidence_authenticity ELSE excluded.evidence_authenticity END,
	first_seen = CASE WHEN ` + inForce + ` THEN least(s.first_seen, excluded.first_seen) ELSE excluded.first_seen END,
	last_seen = CASE WHEN ` + inForce + ` THEN greatest(s.last_seen, excluded.last_seen) ELSE excluded.last_seen END,
	bounce_count = CASE WHEN ` + inForce + ` THEN s.bounce_count + excluded.last_write_count ELSE excluded.bounce_count END,
	last_write_count = CASE WHEN ` + inForce + ` THEN excluded.last_write_count ELSE excluded.bounce_count END,
	expires_at = CASE
		WHEN ` + inForce + ` AND s.expires_at IS NULL THEN NULL
		WHEN excluded.expires_at IS NULL THEN NULL
		WHEN ` + inForce + ` THEN greatest(s.expires_at, excluded.expires_at)
		ELSE excluded.expires_at END,
	manual = CASE WHEN ` + inForce + ` THEN s.manual ELSE false END,
	active_since = CASE WHEN ` + inForce + ` THEN s.active_since ELSE $1 END,
	lifted_at = NULL,
	updated_at = $1`

// inForce is true when the existing row s suppresses at $1.
const inForce = `(s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $1))`

// keepEvidence keeps the reason and evidence of a permanent suppression in
// force when an expiring one (from soft bounces) renews it.
const keepEvidence = `(` + inForce + ` AND s.expires_at IS NULL AND excluded.expires_at IS NOT NULL)`

func queueSuppressions(batch *pgx.Batch, sups []*suppression, now time.Time) {
	n := len(sups)
	addr, reason, scope := make([]string, n), make([]string, n), make([]string, n)
	first, last := make([]time.Time, n), make([]time.Time, n)
	count := make([]int32, n)
	expires := make([]*time.Time, n)
	renew := make([]int32, n)
	msgID, status, diag, auth := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, sp := range sups {
		addr[i], reason[i], scope[i] = sp.address, sp.reason, sp.scope
		first[i], last[i], count[i], renew[i], expires[i] = sp.first, sp.last, int32(sp.start), int32(sp.count), sp.expires
		msgID[i], status[i], diag[i], auth[i] = sp.messageID, sp.status, sp.diag, sp.auth
	}
	batch.Queue(upsertSuppressions, now, addr, reason, scope, first, last, count, renew, expires, msgID, status, diag, auth)
}
