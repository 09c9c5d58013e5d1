package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotHeld is returned by ReleaseHeld and DiscardHeld when none of the
// addresses named is held.
var ErrNotHeld = errors.New("no held suppression")

// HeldSuppression is a suppression the brake held (Limits): recorded with
// its evidence, not in force, not announced to webhooks, until an operator
// releases it (ReleaseHeld) or discards it (DiscardHeld).
type HeldSuppression struct {
	Address              string     `json:"address"`
	Mailbox              string     `json:"mailbox"`
	Reason               string     `json:"reason"`
	Scope                string     `json:"scope"`
	FirstSeen            time.Time  `json:"first_seen"`
	LastSeen             time.Time  `json:"last_seen"`
	Count                int        `json:"count"`
	ExpiresAt            *time.Time `json:"expires_at"` // nil: permanent once released
	EvidenceMessageID    string     `json:"evidence_message_id,omitempty"`
	EvidenceStatus       string     `json:"evidence_status,omitempty"`
	EvidenceDiagnostic   string     `json:"evidence_diagnostic,omitempty"`
	EvidenceAuthenticity string     `json:"evidence_authenticity"`
	BounceMessageID      string     `json:"bounce_message_id,omitempty"` // the bounce's own Message-ID
	HeldBy               Held       `json:"held_by"`
	HeldAt               time.Time  `json:"held_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

const heldColumns = `address, mailbox, reason, scope, first_seen, last_seen, bounce_count, expires_at,
	evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity, bounce_message_id, held_by,
	held_at, updated_at`

// EachHeld calls fn for every held suppression, ordered by address
// (case-insensitively), stopping at the first error fn returns. opts.After
// and opts.Limit page as in EachSuppression; opts.Since keeps those held
// after it.
func (s *Store) EachHeld(ctx context.Context, opts ListOptions, fn func(HeldSuppression) error) error {
	limit := any(nil)
	if opts.Limit > 0 {
		limit = opts.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+heldColumns+` FROM held_suppressions
		WHERE lower(address) > lower($1) AND ($3::timestamptz IS NULL OR held_at > $3)
		ORDER BY lower(address) LIMIT $2`, opts.After, limit, sinceArg(opts.Since))
	if err != nil {
		return fmt.Errorf("listing held suppressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h HeldSuppression
		if err := rows.Scan(&h.Address, &h.Mailbox, &h.Reason, &h.Scope, &h.FirstSeen, &h.LastSeen, &h.Count,
			&h.ExpiresAt, &h.EvidenceMessageID, &h.EvidenceStatus, &h.EvidenceDiagnostic, &h.EvidenceAuthenticity,
			&h.BounceMessageID, &h.HeldBy, &h.HeldAt, &h.UpdatedAt); err != nil {
			return fmt.Errorf("listing held suppressions: %w", err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing held suppressions: %w", err)
	}
	return nil
}

func sinceArg(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// HeldCount returns the number of held suppressions.
func (s *Store) HeldCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM held_suppressions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting held suppressions: %w", err)
	}
	return n, nil
}

// HeldSelection names the held suppressions ReleaseHeld and DiscardHeld act
// on: the Addresses (case-insensitively), or All of them.
type HeldSelection struct {
	Addresses []string
	All       bool
}

// normalized returns the addresses in their stored form (NormalizeAddress);
// one that is not an address is kept as given, and matches nothing.
func (sel HeldSelection) normalized() []string {
	out := make([]string, len(sel.Addresses))
	for i, a := range sel.Addresses {
		out[i] = a
		if n, _, ok := NormalizeAddress(a); ok {
			out[i] = n
		}
	}
	return out
}

func (sel HeldSelection) validate() error {
	switch {
	case sel.All && len(sel.Addresses) > 0:
		return errors.New("name addresses or all, not both")
	case !sel.All && len(sel.Addresses) == 0:
		return errors.New("no address named")
	}
	return nil
}

// ReleaseResult says what ReleaseHeld did.
type ReleaseResult struct {
	// Released lists the addresses put in force (or whose suppression in
	// force was renewed), ordered by address.
	Released []string `json:"released"`
	// Expired lists those released after the expiry their soft bounces
	// gave them: taken off the held list, but nothing left to put in force.
	Expired []string `json:"expired,omitempty"`
	// NotHeld lists the addresses named that were not held.
	NotHeld []string `json:"not_held,omitempty"`
}

// releaseHeld moves held suppressions ($2 addresses, or all with $3) into
// the suppression list as started at $1 by their bounces (not manual),
// announces each start on SuppressionChannel, and audits each release
// ($4 actor, $5 note). Rows are locked in address order, as WriteBatch
// locks them.
const releaseHeld = `
	WITH picked AS (
		SELECT id FROM held_suppressions
		WHERE $3 OR lower(address) = ANY(SELECT lower(a) FROM unnest($2::text[]) AS a)
		ORDER BY lower(address)
		FOR UPDATE
	), h AS (
		DELETE FROM held_suppressions WHERE id IN (SELECT id FROM picked)
		RETURNING address, reason, scope, first_seen, last_seen, bounce_count, expires_at, evidence_message_id,
			evidence_status, evidence_diagnostic, evidence_authenticity
	), up AS (
		INSERT INTO suppressions AS s (address, reason, scope, first_seen, last_seen, bounce_count, last_write_count,
			expires_at, evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity, manual,
			active_since, updated_at)
		SELECT address, reason, scope, first_seen, last_seen, bounce_count, bounce_count, expires_at,
			evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity, false, $1, $1
		FROM h
		WHERE h.expires_at IS NULL OR h.expires_at > $1
		ORDER BY lower(address)
		ON CONFLICT ((lower(address))) DO UPDATE SET ` + startOrRenew + `
		RETURNING address, active_since = $1 AS started
	), audit AS (
		INSERT INTO suppression_audit (address, action, actor, note, reason, at)
		SELECT address, 'release', $4, $5, reason, $1 FROM h
	)
	SELECT h.address, up.address IS NOT NULL,
		CASE WHEN up.started THEN pg_notify('` + SuppressionChannel + `', up.address)::text END
	FROM h LEFT JOIN up ON lower(up.address) = lower(h.address)
	ORDER BY lower(h.address)`

// ReleaseHeld puts held suppressions in force, by hand: as their bounces
// would have without the brake (permanent, or expiring as their soft
// bounces say), announced to webhooks, and recorded in the audit with
// actor and note. It returns ErrNotHeld when none of those named is held.
func (s *Store) ReleaseHeld(ctx context.Context, sel HeldSelection, actor, note string) (ReleaseResult, error) {
	if err := sel.validate(); err != nil {
		return ReleaseResult{}, fmt.Errorf("releasing held suppressions: %w", err)
	}
	if actor == "" || note == "" {
		return ReleaseResult{}, errors.New("releasing held suppressions: who and why are required")
	}
	now := s.clock()
	var res ReleaseResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = ReleaseResult{Released: []string{}}
		// Suppression rows first, then held ones: the order WriteBatch
		// locks them in.
		if _, err := tx.Exec(ctx, `
			SELECT 1 FROM suppressions
			WHERE lower(address) IN (SELECT lower(address) FROM held_suppressions
				WHERE $2 OR lower(address) = ANY(SELECT lower(a) FROM unnest($1::text[]) AS a))
			ORDER BY lower(address)
			FOR UPDATE`, sel.normalized(), sel.All); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, releaseHeld, now, sel.normalized(), sel.All, actor, note)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for rows.Next() {
			var addr string
			var inForce bool
			var notified *string
			if err := rows.Scan(&addr, &inForce, &notified); err != nil {
				rows.Close()
				return err
			}
			found[strings.ToLower(addr)] = true
			if inForce {
				res.Released = append(res.Released, addr)
			} else {
				res.Expired = append(res.Expired, addr)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res.NotHeld = notFound(sel.Addresses, sel.normalized(), found)
		return nil
	})
	if err != nil {
		return ReleaseResult{}, fmt.Errorf("releasing held suppressions: %w", err)
	}
	if len(res.Released)+len(res.Expired) == 0 {
		return res, fmt.Errorf("releasing held suppressions: %w", ErrNotHeld)
	}
	return res, nil
}

// DiscardHeld deletes held suppressions without putting them in force (the
// operator judged their bounces false), and records each in the audit with
// actor and note. It returns the addresses discarded, and ErrNotHeld when
// none of those named is held.
func (s *Store) DiscardHeld(ctx context.Context, sel HeldSelection, actor, note string) ([]string, error) {
	if err := sel.validate(); err != nil {
		return nil, fmt.Errorf("discarding held suppressions: %w", err)
	}
	if actor == "" || note == "" {
		return nil, errors.New("discarding held suppressions: who and why are required")
	}
	var gone []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH h AS (
				DELETE FROM held_suppressions
				WHERE $2 OR lower(address) = ANY(SELECT lower(a) FROM unnest($1::text[]) AS a)
				RETURNING address, reason
			), audit AS (
				INSERT INTO suppression_audit (address, action, actor, note, reason, at)
				SELECT address, 'discard', $3, $4, reason, $5 FROM h
			)
			SELECT address FROM h ORDER BY lower(address)`, sel.normalized(), sel.All, actor, note, s.clock())
		if err != nil {
			return err
		}
		gone, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("discarding held suppressions: %w", err)
	}
	if len(gone) == 0 {
		return nil, fmt.Errorf("discarding held suppressions: %w", ErrNotHeld)
	}
	return gone, nil
}

// notFound returns the addresses (as given) whose lower-cased normalised
// form is not in found.
func notFound(given, norm []string, found map[string]bool) []string {
	var out []string
	for i, a := range given {
		if !found[strings.ToLower(norm[i])] {
			out = append(out, a)
		}
	}
	return out
}
