package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Errors of the manual suppression commands.
var (
	// ErrNotSuppressed is returned by LiftSuppression for an address that
	// is not suppressed.
	ErrNotSuppressed = errors.New("address is not suppressed")
	// ErrUnknownReason is returned for a reason identifier that is not in
	// the reasons table.
	ErrUnknownReason = errors.New("unknown reason")
	// ErrBadAddress is returned for an address NormalizeAddress refuses.
	ErrBadAddress = errors.New("not an email address")
	// ErrNoteTooLong is returned for a manual change whose note (why) or
	// actor (who) is longer than MaxNoteLength or MaxActorLength.
	ErrNoteTooLong = errors.New("note too long")
)

// Limits of what a manual change records in the audit, in characters.
const (
	MaxNoteLength  = 1000
	MaxActorLength = 200
)

// checkAuditText says why actor and note cannot go into the audit.
func checkAuditText(actor, note string) error {
	if actor == "" || note == "" {
		return errors.New("who and why are required")
	}
	if n := utf8.RuneCountInString(note); n > MaxNoteLength {
		return fmt.Errorf("%w: %d characters, at most %d", ErrNoteTooLong, n, MaxNoteLength)
	}
	if n := utf8.RuneCountInString(actor); n > MaxActorLength {
		return fmt.Errorf("%w: who is %d characters, at most %d", ErrNoteTooLong, n, MaxActorLength)
	}
	return nil
}

// Suppression is one address in the suppression list.
type Suppression struct {
	Address            string     `json:"address"`
	Reason             string     `json:"reason"`
	Scope              string     `json:"scope"`
	FirstSeen          time.Time  `json:"first_seen"`
	LastSeen           time.Time  `json:"last_seen"`
	Count              int        `json:"count"`
	ExpiresAt          *time.Time `json:"expires_at"` // nil: permanent
	Manual             bool       `json:"manual"`
	EvidenceMessageID  string     `json:"evidence_message_id,omitempty"`
	EvidenceStatus     string     `json:"evidence_status,omitempty"`
	EvidenceDiagnostic string     `json:"evidence_diagnostic,omitempty"`
	// EvidenceAuthenticity is the authenticity of the bounce that is the
	// evidence (verified, invalid or unsigned); empty when added by hand.
	EvidenceAuthenticity string    `json:"evidence_authenticity,omitempty"`
	ActiveSince          time.Time `json:"active_since"`
	UpdatedAt            time.Time `json:"updated_at"`
}

const suppressionColumns = `address, reason, scope, first_seen, last_seen, bounce_count, expires_at, manual,
	evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity, active_since, updated_at`

// suppressionFields returns the destinations of suppressionColumns in sp.
func suppressionFields(sp *Suppression) []any {
	return []any{&sp.Address, &sp.Reason, &sp.Scope, &sp.FirstSeen, &sp.LastSeen, &sp.Count, &sp.ExpiresAt,
		&sp.Manual, &sp.EvidenceMessageID, &sp.EvidenceStatus, &sp.EvidenceDiagnostic, &sp.EvidenceAuthenticity,
		&sp.ActiveSince, &sp.UpdatedAt}
}

func scanSuppression(row pgx.Row) (Suppression, error) {
	var sp Suppression
	err := row.Scan(suppressionFields(&sp)...)
	return sp, err
}

// inForceAt is the SQL condition for a suppression in force at $1.
const inForceAt = `lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`

// ListOptions selects a page of the suppression list.
type ListOptions struct {
	// After is the cursor: only addresses sorting after it
	// (case-insensitively) are returned. Empty starts at the beginning.
	After string
	// Limit bounds the number returned; 0 means no bound.
	Limit int
	// Since, when not zero, keeps only the suppressions that started (or
	// started again) after it: what a campaign tool syncing the list lacks.
	Since time.Time
}

// EachSuppression calls fn for every suppression in force, ordered by
// address (case-insensitively), stopping at the first error fn returns.
func (s *Store) EachSuppression(ctx context.Context, opts ListOptions, fn func(Suppression) error) error {
	limit := any(nil)
	if opts.Limit > 0 {
		limit = opts.Limit
	}
	since := pgtype.Timestamptz{Time: opts.Since, Valid: true}
	if opts.Since.IsZero() {
		since.InfinityModifier = pgtype.NegativeInfinity
	}
	rows, err := s.pool.Query(ctx, `SELECT `+suppressionColumns+` FROM suppressions
		WHERE `+inForceAt+` AND lower(address) > lower($2) AND active_since > $4
		ORDER BY lower(address) LIMIT $3`, s.clock(), opts.After, limit, since)
	if err != nil {
		return fmt.Errorf("listing suppressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		sp, err := scanSuppression(rows)
		if err != nil {
			return fmt.Errorf("listing suppressions: %w", err)
		}
		if err := fn(sp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing suppressions: %w", err)
	}
	return nil
}

// Suppressed returns the suppressions in force among addrs, keyed by the
// address as given. Each address is looked up in its normalised form
// (NormalizeAddress): padding, angle brackets, a trailing dot, case and the
// Unicode or ASCII form of the domain do not matter. It fails with an error
// wrapping ErrBadAddress, and looks nothing up, when one of addrs is not an
// address: "not suppressed" is never the answer for an address that could
// not be checked.
func (s *Store) Suppressed(ctx context.Context, addrs []string) (map[string]Suppression, error) {
	norm := make([]string, len(addrs))
	for i, a := range addrs {
		n, _, ok := NormalizeAddress(a)
		if !ok {
			return nil, fmt.Errorf("checking addresses: %q: %w", a, ErrBadAddress)
		}
		norm[i] = n
	}
	rows, err := s.pool.Query(ctx, `SELECT a.i, `+suppressionColumns+`
		FROM unnest($2::text[]) WITH ORDINALITY AS a(normalized, i)
		JOIN suppressions ON lower(address) = lower(a.normalized)
		WHERE `+inForceAt, s.clock(), norm)
	if err != nil {
		return nil, fmt.Errorf("checking addresses: %w", err)
	}
	defer rows.Close()
	out := map[string]Suppression{}
	for rows.Next() {
		var i int64
		var sp Suppression
		err := rows.Scan(append([]any{&i}, suppressionFields(&sp)...)...)
		if err != nil {
			return nil, fmt.Errorf("checking addresses: %w", err)
		}
		out[addrs[i-1]] = sp
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checking addresses: %w", err)
	}
	return out, nil
}

// AddSuppression suppresses address by hand, permanently, for reason (an
// identifier of the reasons table), and records who did it and why in the
// audit. A note over MaxNoteLength characters (or an actor over
// MaxActorLength) fails with ErrNoteTooLong. An address already suppressed becomes permanent and manual.
func (s *Store) AddSuppression(ctx context.Context, address, reason, actor, note string) (Suppression, error) {
	addr, _, ok := NormalizeAddress(address)
	if !ok {
		return Suppression{}, fmt.Errorf("adding suppression: %q: %w", address, ErrBadAddress)
	}
	if err := checkAuditText(actor, note); err != nil {
		return Suppression{}, fmt.Errorf("adding suppression: %w", err)
	}
	now := s.clock()
	var sp Suppression
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var scope string
		if err := tx.QueryRow(ctx, `SELECT scope FROM reasons WHERE reason = $1`, reason).Scan(&scope); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w %q", ErrUnknownReason, reason)
			}
			return err
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO suppressions AS s (address, reason, scope, first_seen, last_seen, bounce_count, expires_at,
				evidence_diagnostic, evidence_authenticity, manual, active_since, updated_at)
			VALUES ($2, $3, $4, $1, $1, 0, NULL, $5, '', true, $1, $1)
			ON CONFLICT ((lower(address))) DO UPDATE SET
				reason = excluded.reason,
				scope = excluded.scope,
				expires_at = NULL,
				manual = true,
				first_seen = CASE WHEN `+inForce+` THEN s.first_seen ELSE excluded.first_seen END,
				last_seen = CASE WHEN `+inForce+` THEN s.last_seen ELSE excluded.last_seen END,
				bounce_count = CASE WHEN `+inForce+` THEN s.bounce_count ELSE 0 END,
				evidence_message_id = CASE WHEN `+inForce+` THEN s.evidence_message_id ELSE '' END,
				evidence_status = CASE WHEN `+inForce+` THEN s.evidence_status ELSE '' END,
				evidence_diagnostic = CASE WHEN `+inForce+` THEN s.evidence_diagnostic ELSE excluded.evidence_diagnostic END,
				evidence_authenticity = CASE WHEN `+inForce+` THEN s.evidence_authenticity ELSE '' END,
				active_since = CASE WHEN `+inForce+` THEN s.active_since ELSE excluded.active_since END,
				lifted_at = NULL,
				updated_at = excluded.updated_at
			RETURNING `+suppressionColumns,
			now, addr, reason, scope, "added by hand: "+note)
		var err error
		if sp, err = scanSuppression(row); err != nil {
			return err
		}
		if sp.ActiveSince.Equal(now) {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, SuppressionChannel, sp.Address); err != nil {
				return err
			}
		}
		// A held suppression of the address is settled by this one.
		if _, err := tx.Exec(ctx, `DELETE FROM held_suppressions WHERE lower(address) = lower($1)`, addr); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO suppression_audit (address, action, actor, note, reason, at)
			VALUES ($1, 'add', $2, $3, $4, $5)`, sp.Address, actor, note, reason, now)
		return err
	})
	if err != nil {
		return Suppression{}, fmt.Errorf("adding suppression of %s: %w", addr, err)
	}
	return sp, nil
}

// LiftSuppression lifts the suppression of address by hand and records who
// did it and why in the audit. The soft bounces counted so far are
// forgotten, and bounces seen before the lift never suppress the address
// again, even when they are processed later. The lift is announced on
// UnsuppressionChannel. It returns ErrNotSuppressed when the address is not
// suppressed.
func (s *Store) LiftSuppression(ctx context.Context, address, actor, why string) (Suppression, error) {
	addr, _, ok := NormalizeAddress(address)
	if !ok {
		return Suppression{}, fmt.Errorf("lifting suppression: %q: %w", address, ErrBadAddress)
	}
	if err := checkAuditText(actor, why); err != nil {
		return Suppression{}, fmt.Errorf("lifting suppression: %w", err)
	}
	now := s.clock()
	var sp Suppression
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// soft_bounces before suppressions: the order WriteBatch locks in.
		if _, err := tx.Exec(ctx, `
			INSERT INTO soft_bounces AS b (address, bounce_times, counted_since, updated_at)
			VALUES ($1, '{}', $2, $2)
			ON CONFLICT ((lower(address))) DO UPDATE SET
				bounce_times = '{}', counted_since = excluded.counted_since, updated_at = excluded.updated_at`,
			addr, now); err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `UPDATE suppressions SET lifted_at = $1, updated_at = $1
			WHERE lower(address) = lower($2) AND `+inForceAt+`
			RETURNING `+suppressionColumns, now, addr)
		var err error
		if sp, err = scanSuppression(row); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotSuppressed
			}
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, UnsuppressionChannel, sp.Address); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO suppression_audit (address, action, actor, note, reason, at)
			VALUES ($1, 'lift', $2, $3, $4, $5)`, sp.Address, actor, why, sp.Reason, now)
		return err
	})
	if err != nil {
		return Suppression{}, fmt.Errorf("lifting suppression of %s: %w", addr, err)
	}
	return sp, nil
}

// AuditEntry is one manual change to the suppression list.
type AuditEntry struct {
	Address string    `json:"address"`
	Action  string    `json:"action"` // "add", "lift", "release" or "discard"
	Actor   string    `json:"actor"`
	Note    string    `json:"note"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// Audit returns the manual changes to the suppression of address (in any
// form NormalizeAddress accepts), oldest first. It fails with an error
// wrapping ErrBadAddress when address is not an address.
func (s *Store) Audit(ctx context.Context, address string) ([]AuditEntry, error) {
	addr, _, ok := NormalizeAddress(address)
	if !ok {
		return nil, fmt.Errorf("reading audit: %q: %w", address, ErrBadAddress)
	}
	rows, err := s.pool.Query(ctx, `SELECT address, action, actor, note, coalesce(reason, ''), at
		FROM suppression_audit WHERE lower(address) = lower($1) ORDER BY at, id`, addr)
	if err != nil {
		return nil, fmt.Errorf("reading audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var a AuditEntry
		err := r.Scan(&a.Address, &a.Action, &a.Actor, &a.Note, &a.Reason, &a.At)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit: %w", err)
	}
	return out, nil
}
