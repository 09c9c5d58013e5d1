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
	conn, err := s.lockSession(ctx, mailboxLockClass, mailbox)
	if err != nil || conn == nil {
		if err != nil {
			err = fmt.Errorf("locking mailbox %s: %w", mailbox, err)
		}
		return nil, false, err
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
			unlockSession(context.Background(), conn, mailboxLockClass, mailbox)
		})
	}
	return release, true, nil
}

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

// closeLocks closes the sessions of the mailbox locks still held.
func (s *Store) closeLocks() {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	for conn := range s.locks {
		_ = conn.Close(context.Background())
		delete(s.locks, conn)
	}
}
