package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Lease is a replica's right to work one mailbox (DESIGN.md, store
// invariants). It is held while its row in mailbox_leases names the replica
// at Generation and has not expired by the database's clock. Generation goes
// up on every take: it is the fencing token a Batch carries, so that a
// replica that lost the lease (frozen, cut off, timed out) can never write
// after another replica took the mailbox over.
type Lease struct {
	Mailbox    string
	Replica    string
	Generation int64
	// From is the replica whose lease had expired when this one was taken
	// (a take-over); "" when the lease was free or released. Only
	// AcquireLeases sets it.
	From string
}

// ErrLeaseLost is returned by WriteBatch when the batch's lease is no longer
// held by its replica at its generation: another replica took the mailbox
// over, or the lease expired. Nothing of the batch was written; the caller
// must stop working the mailbox.
var ErrLeaseLost = errors.New("mailbox lease lost")

// leaseLostCode is the SQLSTATE check_mailbox_lease raises (migration 007).
const leaseLostCode = "BD001"

func leaseLost(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == leaseLostCode
}

// micros gives d in microseconds, the unit the lease queries take
// durations in.
func micros(d time.Duration) int64 { return d.Microseconds() }

// Replica is a live replica: its name and the mailboxes it watches.
type Replica struct {
	Name      string
	Mailboxes []string
}

// Register records that replica, watching mailboxes, is alive (its
// heartbeat) and returns every replica whose heartbeat is younger than ttl,
// itself included, sorted by name. Registering again renews the heartbeat.
func (s *Store) Register(ctx context.Context, replica string, mailboxes []string, ttl time.Duration) ([]Replica, error) {
	if replica == "" {
		return nil, errors.New("registering replica: empty name")
	}
	b := &pgx.Batch{}
	b.Queue(`
		INSERT INTO replicas (name, mailboxes, started_at, heartbeat_at) VALUES ($1, $2, now(), now())
		ON CONFLICT (name) DO UPDATE SET mailboxes = excluded.mailboxes, heartbeat_at = now()`, replica, mailboxes)
	b.Queue(`SELECT name, mailboxes FROM replicas
		WHERE heartbeat_at > now() - make_interval(secs => $1::bigint / 1e6) ORDER BY name`, micros(ttl))
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("registering replica %s: %w", replica, err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("listing live replicas: %w", err)
	}
	live, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Replica, error) {
		var rp Replica
		err := r.Scan(&rp.Name, &rp.Mailboxes)
		return rp, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing live replicas: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("registering replica %s: %w", replica, err)
	}
	return live, nil
}

// Retire removes replica from the live replicas and frees its leases, so
// that the others take its mailboxes over at once instead of after its
// heartbeat has expired. A replica calls it when it shuts down.
func (s *Store) Retire(ctx context.Context, replica string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM replicas WHERE name = $1`, replica)
	b.Queue(`UPDATE mailbox_leases SET owner = '', expires_at = now() WHERE owner = $1`, replica)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("retiring replica %s: %w", replica, err)
	}
	return nil
}

// AcquireLeases takes, for replica, the lease of each mailbox in want that
// is free (never taken, released or expired) or held under replica's own
// name: a replica that restarts after a crash takes its mailboxes back at
// once instead of waiting for its old leases to expire. Each lease taken
// lasts ttl and gets the next generation, so the batches of an older holder
// under the same name are refused all the same (two live processes must not
// share a name: they would keep taking the mailboxes from each other). It
// returns the leases taken. A lease whose row a batch of its holder has
// locked (the fencing check) is skipped, not waited for: the next call
// takes it.
func (s *Store) AcquireLeases(ctx context.Context, replica string, want []string, ttl time.Duration) ([]Lease, error) {
	if replica == "" {
		return nil, errors.New("acquiring leases: empty replica name")
	}
	if len(want) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	// A first sight of a mailbox creates its free lease row.
	b.Queue(`INSERT INTO mailbox_leases (mailbox, expires_at)
		SELECT m, now() FROM unnest($1::text[]) AS m ORDER BY m ON CONFLICT DO NOTHING`, want)
	b.Queue(`
		WITH old AS (
			SELECT mailbox, owner FROM mailbox_leases
			WHERE mailbox = ANY($2) AND (expires_at <= now() OR owner = $1)
			ORDER BY mailbox
			FOR UPDATE SKIP LOCKED
		)
		UPDATE mailbox_leases AS l SET owner = $1, generation = l.generation + 1,
			expires_at = now() + make_interval(secs => $3::bigint / 1e6), taken_at = now()
		FROM old WHERE l.mailbox = old.mailbox
		RETURNING l.mailbox, l.generation, old.owner`, replica, want, micros(ttl))
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("acquiring leases: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("acquiring leases: %w", err)
	}
	var taken []Lease
	for rows.Next() {
		l := Lease{Replica: replica}
		if err := rows.Scan(&l.Mailbox, &l.Generation, &l.From); err != nil {
			rows.Close()
			return nil, fmt.Errorf("acquiring leases: %w", err)
		}
		taken = append(taken, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acquiring leases: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("acquiring leases: %w", err)
	}
	return taken, nil
}

// RenewLeases extends each of held that replica still holds (same
// generation, not expired) to ttl from now, and returns those it renewed.
// A lease of held missing from the result is lost: another replica took it,
// or it expired before this renewal.
func (s *Store) RenewLeases(ctx context.Context, replica string, held []Lease, ttl time.Duration) ([]Lease, error) {
	if len(held) == 0 {
		return nil, nil
	}
	names := make([]string, len(held))
	gens := make([]int64, len(held))
	for i, l := range held {
		names[i], gens[i] = l.Mailbox, l.Generation
	}
	rows, err := s.pool.Query(ctx, `
		UPDATE mailbox_leases AS l SET expires_at = now() + make_interval(secs => $4::bigint / 1e6)
		FROM unnest($2::text[], $3::bigint[]) AS h(mailbox, generation)
		WHERE l.mailbox = h.mailbox AND l.generation = h.generation AND l.owner = $1 AND l.expires_at > now()
		RETURNING l.mailbox, l.generation`, replica, names, gens, micros(ttl))
	if err != nil {
		return nil, fmt.Errorf("renewing leases of %s: %w", replica, err)
	}
	kept, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lease, error) {
		l := Lease{Replica: replica}
		err := r.Scan(&l.Mailbox, &l.Generation)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("renewing leases of %s: %w", replica, err)
	}
	return kept, nil
}

// ReleaseLeases frees each of leases that its replica still holds, so that
// another replica can take the mailbox at once.
func (s *Store) ReleaseLeases(ctx context.Context, leases []Lease) error {
	if len(leases) == 0 {
		return nil
	}
	names := make([]string, len(leases))
	owners := make([]string, len(leases))
	gens := make([]int64, len(leases))
	for i, l := range leases {
		names[i], owners[i], gens[i] = l.Mailbox, l.Replica, l.Generation
	}
	if _, err := s.pool.Exec(ctx, `
		UPDATE mailbox_leases AS l SET owner = '', expires_at = now()
		FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(mailbox, owner, generation)
		WHERE l.mailbox = h.mailbox AND l.owner = h.owner AND l.generation = h.generation`,
		names, owners, gens); err != nil {
		return fmt.Errorf("releasing leases: %w", err)
	}
	return nil
}
