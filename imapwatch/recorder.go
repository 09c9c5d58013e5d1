// Package imapwatch is the IMAP side of bounced: it connects to a return-path
// mailbox, fetches the messages above the stored checkpoint in batches, streams
// each into the bounce parser, records every batch through a Recorder in one
// transaction and only then moves or flags the messages. A Scheduler runs
// every mailbox on its cron schedule, optionally woken by IMAP IDLE.
package imapwatch

import (
	"context"

	"github.com/bounced/bounced/store"
)

// Recorder is what imapwatch needs from the store. *store.Store implements it.
type Recorder interface {
	// Checkpoint returns the position reached in a mailbox; the zero
	// Checkpoint (with the mailbox name) before the first batch.
	Checkpoint(ctx context.Context, mailbox string) (store.Checkpoint, error)
	// WriteBatch records a batch and moves the checkpoint in one
	// transaction. It is idempotent on (mailbox, UIDVALIDITY, UID) and on the
	// content hash: a batch written twice counts once.
	WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error)
}
