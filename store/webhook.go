package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// UnsuppressionChannel is the PostgreSQL NOTIFY channel on which
// LiftSuppression announces each address it lifts (the payload is the
// address), when its transaction commits.
const UnsuppressionChannel = "bounced_unsuppressions"

// ChangeKind says what a change of the suppression list is, as seen when it
// is read.
type ChangeKind string

// The kinds of change.
const (
	// ChangeSuppressed: the suppression started and is in force.
	ChangeSuppressed ChangeKind = "suppressed"
	// ChangeUnsuppressed: the suppression was lifted by hand.
	ChangeUnsuppressed ChangeKind = "unsuppressed"
	// ChangeExpired: the suppression started but has expired since; there
	// is nothing left to announce.
	ChangeExpired ChangeKind = "expired"
)

// ChangePosition is a place in the change feed of the suppression list: the
// transaction that made a change (its PostgreSQL xid8) and the suppression's
// id. The feed is ordered by (XID, ID). The zero value is before everything.
type ChangePosition struct {
	XID uint64
	ID  int64
}

// Less reports whether p comes before q in the feed.
func (p ChangePosition) Less(q ChangePosition) bool {
	return p.XID < q.XID || p.XID == q.XID && p.ID < q.ID
}

// SuppressionChange is one entry of the change feed: a suppression that
// started or was lifted, in its state when read. A suppression that changed
// again before it was read appears once, at the place of its latest change.
type SuppressionChange struct {
	Position    ChangePosition
	Kind        ChangeKind
	ID          int64 // the suppression's id; with ActiveSince, it names one suppression of an address
	Address     string
	Reason      string
	Scope       string
	Manual      bool
	ExpiresAt   *time.Time // nil: permanent
	ActiveSince time.Time
	LiftedAt    *time.Time // set for ChangeUnsuppressed
}

// Changes returns up to limit changes of the suppression list after the
// position after, in feed order, and whether more changes were held back.
//
// The feed never changes behind a position this method has returned: it
// returns only changes made by transactions older than every transaction
// still running, so none can commit below them later. Changes committed
// beyond a transaction that is still running are held back (heldBack is
// true) until it ends; ask again shortly.
func (s *Store) Changes(ctx context.Context, after ChangePosition, limit int) (changes []SuppressionChange, heldBack bool, err error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("reading suppression changes: limit %d: must be at least 1", limit)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT changed_xid, id, address, reason, scope, manual, expires_at, active_since, lifted_at,
			changed_xid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
		FROM suppressions
		WHERE (changed_xid, id) > ($1::xid8, $2::bigint)
		ORDER BY changed_xid, id
		LIMIT $3`, after.XID, after.ID, limit)
	if err != nil {
		return nil, false, fmt.Errorf("reading suppression changes: %w", err)
	}
	defer rows.Close()
	now := s.clock()
	for rows.Next() {
		var c SuppressionChange
		var settled bool
		if err := rows.Scan(&c.Position.XID, &c.ID, &c.Address, &c.Reason, &c.Scope, &c.Manual, &c.ExpiresAt,
			&c.ActiveSince, &c.LiftedAt, &settled); err != nil {
			return nil, false, fmt.Errorf("reading suppression changes: %w", err)
		}
		if !settled {
			// Rows are in feed order: every one after this is unsettled too.
			heldBack = true
			break
		}
		c.Position.ID = c.ID
		switch {
		case c.LiftedAt != nil:
			c.Kind = ChangeUnsuppressed
		case c.ExpiresAt != nil && !c.ExpiresAt.After(now):
			c.Kind = ChangeExpired
		default:
			c.Kind = ChangeSuppressed
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("reading suppression changes: %w", err)
	}
	return changes, heldBack, nil
}

// CursorStart says where a webhook's cursor starts when it has none yet.
type CursorStart string

// Where a new cursor starts.
const (
	// CursorStartNow: at the oldest transaction still running; the
	// webhook receives what changes from now on, and the changes
	// committed since that transaction began.
	CursorStartNow CursorStart = "now"
	// CursorStartBeginning: before every change; the webhook first
	// receives every suppression on record (those expired since are
	// skipped, those lifted arrive as lifted).
	CursorStartBeginning CursorStart = "beginning"
)

// WebhookCursor returns the position the webhook name has reached in the
// change feed. A webhook without a cursor gets one, at start.
func (s *Store) WebhookCursor(ctx context.Context, name string, start CursorStart) (ChangePosition, error) {
	var xid any
	switch start {
	case CursorStartNow:
		xid = nil // the horizon, below
	case CursorStartBeginning:
		xid = uint64(0)
	default:
		return ChangePosition{}, fmt.Errorf("reading cursor of webhook %s: unknown start %q", name, start)
	}
	now := s.clock()
	// Starting "now" is at the oldest transaction still running: every
	// change before it has committed (or never will), every one after
	// it is to come.
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO webhook_cursors (name, last_xid, last_id, created_at, updated_at)
		VALUES ($1, coalesce($2::xid8, pg_snapshot_xmin(pg_current_snapshot())), 0, $3, $3)
		ON CONFLICT (name) DO NOTHING`, name, xid, now); err != nil {
		return ChangePosition{}, fmt.Errorf("creating cursor of webhook %s: %w", name, err)
	}
	var p ChangePosition
	if err := s.pool.QueryRow(ctx, `SELECT last_xid, last_id FROM webhook_cursors WHERE name = $1`, name).Scan(&p.XID, &p.ID); err != nil {
		return ChangePosition{}, fmt.Errorf("reading cursor of webhook %s: %w", name, err)
	}
	return p, nil
}

// AdvanceWebhookCursor moves the cursor of the webhook name to to, after its
// receiver acknowledged delivered events. A cursor never moves back: an
// older position (from a replica that lost its claim) is ignored.
func (s *Store) AdvanceWebhookCursor(ctx context.Context, name string, to ChangePosition, delivered int) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE webhook_cursors SET last_xid = $2, last_id = $3, delivered = delivered + $4, updated_at = $5
		WHERE name = $1 AND (last_xid, last_id) < ($2::xid8, $3::bigint)`,
		name, to.XID, to.ID, delivered, s.clock())
	if err != nil {
		return fmt.Errorf("advancing cursor of webhook %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_cursors WHERE name = $1)`, name).Scan(&exists); err != nil {
			return fmt.Errorf("advancing cursor of webhook %s: %w", name, err)
		}
		if !exists {
			return fmt.Errorf("advancing cursor of webhook %s: %w", name, ErrNoCursor)
		}
	}
	return nil
}

// ErrNoCursor is returned by AdvanceWebhookCursor for a webhook that has no
// cursor (WebhookCursor creates it).
var ErrNoCursor = errors.New("webhook has no cursor")

// webhookLockClass is the first key of the two-key advisory locks that
// ClaimWebhook takes ("hook"), the second being hashtext(name).
const webhookLockClass int32 = 0x686f6f6b

// WebhookClaim is the claim of one replica on one webhook: the PostgreSQL
// session advisory lock of the webhook, held by a connection of its own
// (outside the pool) that also listens on SuppressionChannel and
// UnsuppressionChannel. Release it when done.
type WebhookClaim struct {
	store  *Store
	name   string
	conn   *pgx.Conn
	pid    uint32
	notify chan struct{}
	lost   chan struct{}
	err    error // why the session ended; set before lost is closed
	stop   context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// ClaimWebhook takes the advisory lock of the webhook name, so that one
// replica at a time delivers to it. It returns ok=false, and no claim, when
// another session holds the lock. The lock lives as long as its session: if
// the connection breaks, Lost is closed.
func (s *Store) ClaimWebhook(ctx context.Context, name string) (claim *WebhookClaim, ok bool, err error) {
	conn, err := s.lockSession(ctx, webhookLockClass, name)
	if err != nil || conn == nil {
		if err != nil {
			err = fmt.Errorf("claiming webhook %s: %w", name, err)
		}
		return nil, false, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+SuppressionChannel+"; LISTEN "+UnsuppressionChannel); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, false, fmt.Errorf("claiming webhook %s: %w", name, err)
	}
	lctx, stop := context.WithCancel(context.Background())
	c := &WebhookClaim{
		store:  s,
		name:   name,
		conn:   conn,
		pid:    conn.PgConn().PID(),
		notify: make(chan struct{}, 1),
		lost:   make(chan struct{}),
		stop:   stop,
		done:   make(chan struct{}),
	}
	go c.listen(lctx)
	return c, true, nil
}

// listen turns the session's notifications into ticks on c.notify, many
// into one while nobody reads them, until ctx is done or the session ends.
func (c *WebhookClaim) listen(ctx context.Context) {
	defer close(c.done)
	for {
		if _, err := c.conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() == nil {
				c.err = err
				close(c.lost)
			}
			return
		}
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// Notified receives a value after the suppression list changed: a
// suppression started or was lifted. Several changes may give one value.
func (c *WebhookClaim) Notified() <-chan struct{} { return c.notify }

// Lost is closed when the claim's session ended without Release: the lock
// is no longer held, and Err says why.
func (c *WebhookClaim) Lost() <-chan struct{} { return c.lost }

// Err returns why the claim was lost, once Lost is closed; nil before.
func (c *WebhookClaim) Err() error {
	select {
	case <-c.lost:
		return c.err
	default:
		return nil
	}
}

// Held asks PostgreSQL whether the claim's session still holds the lock:
// false once the session is gone, even before the client notices. Call it
// before a delivery, so that a replica that lost its claim stops.
func (c *WebhookClaim) Held(ctx context.Context) (bool, error) {
	select {
	case <-c.lost:
		return false, nil
	default:
	}
	var held bool
	err := c.store.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND pid = $1 AND classid = $2::int4::oid AND objid = hashtext($3)::oid AND objsubid = 2)`,
		int32(c.pid), webhookLockClass, c.name).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("checking claim on webhook %s: %w", c.name, err)
	}
	return held, nil
}

// Release unlocks the webhook and closes the claim's session. It is safe to
// call more than once.
func (c *WebhookClaim) Release() {
	c.once.Do(func() {
		c.stop()
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		unlockSession(ctx, c.conn, webhookLockClass, c.name)
	})
}

// maxPendingCount bounds the count of undelivered changes WebhookProgress
// reports: a webhook that far behind is alarming enough, and counting
// further would make a metrics scrape slow.
const maxPendingCount = 100000

// WebhookProgress is how far one webhook's receiver has got.
type WebhookProgress struct {
	Name          string
	Delivered     int64     // events acknowledged since the cursor was made
	LastDelivered time.Time // when the cursor last moved (or was made)
	// Pending counts the changes after the cursor, settled or not, up to
	// maxPendingCount: the receiver's backlog.
	Pending int64
}

// WebhookProgress returns the progress of every webhook that has a cursor,
// by name.
func (s *Store) WebhookProgress(ctx context.Context) ([]WebhookProgress, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.name, c.delivered, c.updated_at,
			(SELECT count(*) FROM (
				SELECT 1 FROM suppressions
				WHERE (changed_xid, id) > (c.last_xid, c.last_id)
				LIMIT $1) AS p)
		FROM webhook_cursors AS c
		ORDER BY c.name`, maxPendingCount)
	if err != nil {
		return nil, fmt.Errorf("reading webhook progress: %w", err)
	}
	progress, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (WebhookProgress, error) {
		var p WebhookProgress
		err := row.Scan(&p.Name, &p.Delivered, &p.LastDelivered, &p.Pending)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading webhook progress: %w", err)
	}
	return progress, nil
}
