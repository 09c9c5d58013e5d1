// Package store keeps bounce events, suppressions, reputation counters, the
// processed-message ledger and mailbox checkpoints in PostgreSQL.
package store

import (
	"time"

	"github.com/bounced/bounced/dsn"
)

// Outcome says what became of one fetched message. It is stored in the
// processed-message ledger.
type Outcome string

// The outcomes of one message.
const (
	OutcomeProcessed    Outcome = "processed"    // parsed, at least one recipient result recorded
	OutcomeUnrecognized Outcome = "unrecognized" // parsed, but not a bounce, complaint or auto-reply we understand
	OutcomeFailed       Outcome = "failed"       // could not be parsed (too large, malformed); kept for a human
)

// Checkpoint is the position reached in one mailbox.
type Checkpoint struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32 // highest UID whose batch has committed; 0 before the first
}

// Message is one fetched message and what the parser made of it.
type Message struct {
	UID         uint32
	MessageID   string   // the bounce's own Message-ID header, may be empty
	ContentHash [32]byte // SHA-256 of the raw message bytes
	Size        int64
	ReceivedAt  time.Time // IMAP INTERNALDATE, zero if unknown
	Outcome     Outcome
	Report      *dsn.Report // nil when Outcome is OutcomeFailed
	Error       string      // why parsing failed, for OutcomeFailed
}

// Batch is one fetched batch of a mailbox: everything in it, and the
// checkpoint it moves to, commits in one transaction or not at all.
type Batch struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32 // the checkpoint after this batch
	Messages    []Message
	// Limits is the mailbox's brake on new suppressions; the zero value
	// has none.
	Limits Limits
	// Lease is the lease the batch was fetched under. When its Generation
	// is not zero the transaction first checks that Lease.Replica still
	// holds the mailbox at that generation, and fails with ErrLeaseLost
	// otherwise. Lease.Replica is recorded in the ledger either way.
	Lease Lease
}

// BatchResult counts what one WriteBatch did.
type BatchResult struct {
	Messages   int // messages newly recorded in the ledger
	Duplicates int // messages skipped because the ledger already had them
	// DuplicateUIDs are the UIDs of those messages, so that the caller
	// counts them as already recorded, not as processed again.
	DuplicateUIDs []uint32
	Events        int // bounce events written
	Suppressed    int // addresses newly suppressed or whose suppression was renewed
	Incidents     int // sender-side reputation incidents counted
	// HeldPerMessage and HeldPerHour count the new suppressions the brake
	// held (Batch.Limits) instead of putting them in force.
	HeldPerMessage int
	HeldPerHour    int
	// LiftedKept counts addresses lifted by hand that the batch's bounces
	// would have suppressed again, left lifted because none of those
	// bounces was verified.
	LiftedKept int
	// Suppressions counts the suppressions the batch started, renewed
	// and held, by reason and authenticity of the bounce (for metrics).
	Suppressions []SuppressionCount
}

// Outcomes of a suppression in SuppressionCount.
const (
	SuppressionStarted = "started" // put in force
	SuppressionRenewed = "renewed" // in force already, renewed
	SuppressionHeld    = "held"    // held by the brake
)

// SuppressionCount is how many suppressions of one reason, authenticity
// (of the bounce that is the evidence) and outcome a batch made.
type SuppressionCount struct {
	Reason, Authenticity, Outcome string
	N                             int
}

// countSuppression adds one suppression to counts.
func countSuppression(counts []SuppressionCount, reason, authenticity, outcome string) []SuppressionCount {
	for i := range counts {
		if c := &counts[i]; c.Reason == reason && c.Authenticity == authenticity && c.Outcome == outcome {
			c.N++
			return counts
		}
	}
	return append(counts, SuppressionCount{Reason: reason, Authenticity: authenticity, Outcome: outcome, N: 1})
}

// Held returns the new suppressions the brake held.
func (r BatchResult) Held() int { return r.HeldPerMessage + r.HeldPerHour }
