package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// lockSession opens a session of its own, with the pool's settings but
// outside the pool (so that held locks never starve the batch writes of
// connections), and takes the session advisory lock (class, hashtext(key))
// in it. It returns the session holding the lock, or nil and no error when
// another session holds it.
func (s *Store) lockSession(ctx context.Context, class int32, key string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, class, key).Scan(&ok); err != nil || !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// unlockSession ends a session lockSession opened. Closing the session drops
// its lock; unlocking first is only courtesy to a server that keeps the
// session a while.
func unlockSession(ctx context.Context, conn *pgx.Conn, class int32, key string) {
	_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, class, key)
	_ = conn.Close(ctx)
}
