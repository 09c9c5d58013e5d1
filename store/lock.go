package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// mailboxLockClass is the first key of the two-key advisory locks that
// LockMailbox takes ("boun"), the second being hashtext(mailbox).
const mailboxLockClass int32 = 0x626f756e

// LockMailbox takes the PostgreSQL session advisory lock of mailbox, so that
// one replica at a time works it. The lock is held by a connection of its
// own, opened with the pool's settings but outside the pool, so that held
// locks never starve the batch writes of connections. Call release to unlock
// and close it; Close releases every lock still held. It returns ok=false,
// and no release, when another session holds the lock.
//
// The lock lives as long as the session: if the connection breaks, the lock
// is gone. Release is safe to call more than once.
func (s *Store) LockMailbox(ctx context.Context, mailbox string) (release func(), ok bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, fmt.Errorf("locking mailbox %s: connecting: %w", mailbox, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, mailboxLockClass, mailbox).Scan(&ok); err != nil || !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, false, fmt.Errorf("locking mailbox %s: %w", mailbox, err)
		}
		return nil, false, nil
	}
	s.locksMu.Lock()
	s.locks[conn] = struct{}{}
	s.locksMu.Unlock()

	var once sync.Once
	release = func() {
		once.Do(func() {
			s.locksMu.Lock()
			delete(s.locks, conn)
			s.locksMu.Unlock()
			// Closing the session drops its locks; unlocking first is only
			// courtesy to a server that keeps the session a while.
			ctx := context.Background()
			_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, mailboxLockClass, mailbox)
			_ = conn.Close(ctx)
		})
	}
	return release, true, nil
}

// closeLocks closes the sessions of the mailbox locks still held.
func (s *Store) closeLocks() {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	for conn := range s.locks {
		_ = conn.Close(context.Background())
		delete(s.locks, conn)
	}
}
