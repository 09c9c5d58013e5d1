package store

import (
	"context"
	"fmt"
)

// ReasonText is what a reason means, why it happens and how to fix it, in
// one language ("en", "de").
type ReasonText struct {
	Reason, Lang, Meaning, Why, Fix string
}

// SyncReasonTexts stores the texts of the reasons, replacing those stored
// before for the same reason and language. A reason unknown to the schema is
// an error and nothing is stored.
func (s *Store) SyncReasonTexts(ctx context.Context, texts []ReasonText) error {
	if len(texts) == 0 {
		return nil
	}
	n := len(texts)
	reason, lang, meaning, why, fix := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, t := range texts {
		reason[i], lang[i], meaning[i], why[i], fix[i] = t.Reason, t.Lang, t.Meaning, t.Why, t.Fix
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO reason_texts AS t (reason, lang, meaning, why, fix, updated_at)
		SELECT DISTINCT ON (u.reason, u.lang) u.reason, u.lang, u.meaning, u.why, u.fix, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
			AS u(reason, lang, meaning, why, fix, ord)
		ORDER BY u.reason, u.lang, u.ord DESC
		ON CONFLICT (reason, lang) DO UPDATE SET
			meaning = excluded.meaning, why = excluded.why, fix = excluded.fix, updated_at = excluded.updated_at
		WHERE (t.meaning, t.why, t.fix) IS DISTINCT FROM (excluded.meaning, excluded.why, excluded.fix)`,
		reason, lang, meaning, why, fix, s.clock())
	if err != nil {
		return fmt.Errorf("storing reason texts: %w", err)
	}
	return nil
}

// ReasonInfo is one row of the reason table, with its texts in one language.
type ReasonInfo struct {
	Reason    string
	Scope     string
	Permanent bool
	Text      *ReasonText // nil when no text is stored
}

// Reasons returns the reason table, with the texts in lang, falling back to
// English, where stored.
func (s *Store) Reasons(ctx context.Context, lang string) ([]ReasonInfo, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.reason, r.scope, r.permanent, t.lang, t.meaning, t.why, t.fix
		FROM reasons AS r
		LEFT JOIN LATERAL (
			SELECT * FROM reason_texts AS x WHERE x.reason = r.reason AND x.lang IN ($1, 'en')
			ORDER BY x.lang = $1 DESC LIMIT 1
		) AS t ON true
		ORDER BY r.reason`, lang)
	if err != nil {
		return nil, fmt.Errorf("reading reasons: %w", err)
	}
	defer rows.Close()
	var out []ReasonInfo
	for rows.Next() {
		var ri ReasonInfo
		var tl, tm, tw, tf *string
		if err := rows.Scan(&ri.Reason, &ri.Scope, &ri.Permanent, &tl, &tm, &tw, &tf); err != nil {
			return nil, fmt.Errorf("reading reasons: %w", err)
		}
		if tl != nil {
			ri.Text = &ReasonText{Reason: ri.Reason, Lang: *tl, Meaning: *tm, Why: *tw, Fix: *tf}
		}
		out = append(out, ri)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading reasons: %w", err)
	}
	return out, nil
}
