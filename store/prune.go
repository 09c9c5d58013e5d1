package store

import (
	"context"
	"fmt"
	"time"
)

// MinRetention is the shortest retention Prune accepts: bounce events and
// soft-bounce state younger than that may still count towards a soft-bounce
// suppression or show in the reports' 7-day views.
const MinRetention = 30 * 24 * time.Hour

// pruneChunk bounds the rows one DELETE removes, so that pruning a large
// backlog never holds a long transaction or bloats the WAL in one go.
const pruneChunk = 10000

// Pruned says what Prune removed (or, on a dry run, would remove).
type Pruned struct {
	Events      int64 // bounce_events rows that occurred before the cutoff
	SoftBounces int64 // soft_bounces rows last seen before the cutoff
}

// Prune deletes the bounce events that occurred more than retention ago and
// the soft-bounce state of addresses not seen since; with dryRun it only
// counts them. It keeps everything else: the suppressions and their audit
// (the list a campaign tool relies on), the daily reputation counters, and
// the ledger of processed messages, which is what makes a message fetched
// again a no-op.
//
// It deletes in chunks of its own transactions: a cancelled Prune leaves
// the chunks it finished deleted and nothing half-done. Several replicas
// pruning at once only share the work.
func (s *Store) Prune(ctx context.Context, retention time.Duration, dryRun bool) (Pruned, error) {
	var p Pruned
	if retention < MinRetention {
		return p, fmt.Errorf("pruning: retention %s is shorter than the minimum of %s", retention, MinRetention)
	}
	cutoff := s.clock().Add(-retention)
	if dryRun {
		err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM bounce_events WHERE occurred_at < $1),
			(SELECT count(*) FROM soft_bounces WHERE last_seen < $1)`, cutoff).Scan(&p.Events, &p.SoftBounces)
		if err != nil {
			return Pruned{}, fmt.Errorf("counting what to prune before %s: %w", cutoff.Format(time.RFC3339), err)
		}
		return p, nil
	}
	for _, t := range []struct {
		count *int64
		sql   string
	}{
		{&p.Events, `DELETE FROM bounce_events WHERE id IN (
			SELECT id FROM bounce_events WHERE occurred_at < $1 LIMIT $2)`},
		{&p.SoftBounces, `DELETE FROM soft_bounces WHERE ctid IN (
			SELECT ctid FROM soft_bounces WHERE last_seen < $1 LIMIT $2)`},
	} {
		for {
			tag, err := s.pool.Exec(ctx, t.sql, cutoff, pruneChunk)
			if err != nil {
				return p, fmt.Errorf("pruning rows before %s: %w", cutoff.Format(time.RFC3339), err)
			}
			*t.count += tag.RowsAffected()
			if tag.RowsAffected() < pruneChunk {
				break
			}
		}
	}
	return p, nil
}
