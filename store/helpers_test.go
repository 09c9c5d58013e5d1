package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store/storetest"
)

// newTestStore returns a Store on a fresh, migrated database.
func newTestStore(tb testing.TB, opts ...Option) *Store {
	tb.Helper()
	url := storetest.NewDatabase(tb)
	ctx := context.Background()
	s, err := Open(ctx, url, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rcpt describes one recipient result for msg.
type rcpt struct {
	addr   string
	reason dsn.Reason
}

// classes gives the scope, permanence and verdict of the reasons tests use,
// as the DESIGN.md policy has them.
var classes = map[dsn.Reason]dsn.Classification{
	dsn.ReasonUserUnknown: {Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
	dsn.ReasonComplaint:   {Reason: dsn.ReasonComplaint, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
	dsn.ReasonMailboxFull: {Reason: dsn.ReasonMailboxFull, Scope: dsn.ScopeRecipient, Verdict: dsn.VerdictSoft},
	dsn.ReasonGreylisted:  {Reason: dsn.ReasonGreylisted, Scope: dsn.ScopeTransient, Verdict: dsn.VerdictSoft},
	dsn.ReasonBlocklisted: {Reason: dsn.ReasonBlocklisted, Scope: dsn.ScopeSender, Permanent: true, Verdict: dsn.VerdictAlert},
	dsn.ReasonAuthFailure: {Reason: dsn.ReasonAuthFailure, Scope: dsn.ScopeSender, Permanent: true, Verdict: dsn.VerdictAlert},
	dsn.ReasonAutoReply:   {Reason: dsn.ReasonAutoReply, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore},
	dsn.ReasonDelivered:   {Reason: dsn.ReasonDelivered, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore},
	dsn.ReasonUnknown:     {Reason: dsn.ReasonUnknown, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore},
	dsn.ReasonServerError: {Reason: dsn.ReasonServerError, Scope: dsn.ScopeTransient, Verdict: dsn.VerdictSoft},
	dsn.ReasonRateLimited: {Reason: dsn.ReasonRateLimited, Scope: dsn.ScopeSender, Verdict: dsn.VerdictAlert},
	dsn.ReasonHostUnknown: {Reason: dsn.ReasonHostUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
	dsn.ReasonSpamContent: {Reason: dsn.ReasonSpamContent, Scope: dsn.ScopeSender, Permanent: true, Verdict: dsn.VerdictAlert},
	dsn.ReasonExpired:     {Reason: dsn.ReasonExpired, Scope: dsn.ScopeTransient, Verdict: dsn.VerdictSoft},
	dsn.ReasonMailboxDisabled: {Reason: dsn.ReasonMailboxDisabled, Scope: dsn.ScopeRecipient, Permanent: true,
		Verdict: dsn.VerdictSuppress},
}

// msg builds a processed message whose content (and so hash) is determined
// by content, reporting on the given recipients.
func msg(uid uint32, content string, received time.Time, rs ...rcpt) Message {
	rep := &dsn.Report{
		Kind:         dsn.KindDSN,
		ReportingMTA: "MX.Receiver.example",
		Original: dsn.Original{
			MessageID: "<" + content + "@sender.example>",
			From:      `"News" <news@Sender.Example>`,
			Headers:   map[string]string{"X-Campaign-Id": "42"},
		},
	}
	for _, r := range rs {
		c, ok := classes[r.reason]
		if !ok {
			c = dsn.Classification{Reason: r.reason, Scope: dsn.ScopeNone, Verdict: dsn.VerdictIgnore}
		}
		rep.Recipients = append(rep.Recipients, dsn.Recipient{
			Address:        r.addr,
			Action:         dsn.ActionFailed,
			Status:         "5.1.1",
			SMTPCode:       550,
			Diagnostic:     "550 5.1.1 test " + string(r.reason),
			RemoteMTA:      "mx.receiver.example",
			Classification: c,
		})
	}
	return Message{
		UID:         uid,
		MessageID:   "<bounce-" + content + "@mx.receiver.example>",
		ContentHash: sha256.Sum256([]byte(content)),
		Size:        int64(len(content)),
		ReceivedAt:  received,
		Outcome:     OutcomeProcessed,
		Report:      rep,
	}
}

// batchOf puts messages into a batch of mailbox INBOX, UIDVALIDITY 7.
func batchOf(msgs ...Message) Batch {
	b := Batch{Mailbox: "INBOX", UIDValidity: 7}
	for _, m := range msgs {
		b.LastUID = max(b.LastUID, m.UID)
	}
	b.Messages = msgs
	return b
}

// counts is a snapshot of the row counts and totals that WriteBatch changes.
type counts struct {
	ledger, events, suppressions, softRows, softTimes, reputation, suppressionBounces int64
}

func snapshot(tb testing.TB, s *Store) counts {
	tb.Helper()
	var c counts
	err := s.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM processed_messages),
		(SELECT count(*) FROM bounce_events),
		(SELECT count(*) FROM suppressions),
		(SELECT count(*) FROM soft_bounces),
		(SELECT coalesce(sum(cardinality(bounce_times)), 0) FROM soft_bounces),
		(SELECT coalesce(sum(incidents), 0) FROM reputation_daily),
		(SELECT coalesce(sum(bounce_count), 0) FROM suppressions)`).Scan(
		&c.ledger, &c.events, &c.suppressions, &c.softRows, &c.softTimes, &c.reputation, &c.suppressionBounces)
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	return c
}

func (c counts) String() string {
	return fmt.Sprintf("ledger=%d events=%d suppressions=%d soft=%d/%d reputation=%d suppression_bounces=%d",
		c.ledger, c.events, c.suppressions, c.softRows, c.softTimes, c.reputation, c.suppressionBounces)
}

func mustWrite(tb testing.TB, s *Store, b Batch) BatchResult {
	tb.Helper()
	res, err := s.WriteBatch(context.Background(), b)
	if err != nil {
		tb.Fatalf("WriteBatch: %v", err)
	}
	return res
}

// suppressedNow returns the suppression of addr in force by the store's
// clock, or nil.
func suppressedNow(tb testing.TB, s *Store, addr string) *Suppression {
	tb.Helper()
	m, err := s.Suppressed(context.Background(), []string{addr})
	if err != nil {
		tb.Fatalf("Suppressed: %v", err)
	}
	if sp, ok := m[addr]; ok {
		return &sp
	}
	return nil
}

// withAuthenticity sets the authenticity of every recipient of m.
func withAuthenticity(m Message, a dsn.Authenticity) Message {
	for i := range m.Report.Recipients {
		m.Report.Recipients[i].Authenticity = a
	}
	return m
}
