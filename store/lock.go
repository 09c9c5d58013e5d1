package store

import (
	"context"
	"fmt"
	"sync"
)

// mailboxLockClass is the first key of the two-key advisory locks that
// LockMailbox takes ("boun"), the second being hashtext(mailbox).
const mailboxLockClass int32 = 0x626f756e

// LockMailbox takes the PostgreSQL session advisory lock of mailbox, so that
// one replica at a time works it. It holds a pooled connection for as long as
// the lock is held; call release to unlock and return the connection. It
// returns ok=false, and no release, when another session holds the lock.
//
// The lock lives as long as the session: if the connection breaks, the lock
// is gone. Release is safe to call more than once.
func (s *Store) LockMailbox(ctx context.Context, mailbox string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("locking mailbox %s: %w", mailbox, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, mailboxLockClass, mailbox).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("locking mailbox %s: %w", mailbox, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			ctx := context.Background()
			var unlocked bool
			err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, mailboxLockClass, mailbox).Scan(&unlocked)
			if err != nil || !unlocked {
				// Closing the session is the sure way to drop its locks.
				_ = conn.Conn().Close(ctx)
			}
			conn.Release()
		})
	}
	return release, true, nil
}
