package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestWriteBatchRecordsEverything(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, WithClock(newClock(t0).Now))

	cp, err := s.Checkpoint(ctx, "INBOX")
	if err != nil || cp.UIDValidity != 0 || cp.LastUID != 0 {
		t.Fatalf("Checkpoint before any batch = %+v, %v; want zero", cp, err)
	}

	noRecipient := msg(4, "m4", t0)
	noRecipient.Report.Recipients = nil
	failed := Message{UID: 5, ContentHash: [32]byte{5}, Outcome: OutcomeFailed, Error: "header too large"}
	b := batchOf(
		msg(1, "m1", t0, rcpt{"Hard@Example.ORG", dsn.ReasonUserUnknown}, rcpt{"alert@example.org", dsn.ReasonBlocklisted}),
		msg(2, "m2", t0, rcpt{"soft@example.net", dsn.ReasonMailboxFull}),
		msg(3, "m3", t0, rcpt{"ooo@example.net", dsn.ReasonAutoReply}),
		noRecipient, failed,
	)
	b.LastUID = 9
	res := mustWrite(t, s, b)
	want := BatchResult{Messages: 5, Events: 5, Suppressed: 1, Incidents: 1,
		Suppressions: []SuppressionCount{{Reason: "user_unknown", Authenticity: "unsigned", Outcome: SuppressionStarted, N: 1}}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("WriteBatch = %+v, want %+v", res, want)
	}

	sp := suppressedNow(t, s, "hard@example.org")
	if sp == nil {
		t.Fatal("Hard@example.org not suppressed after user_unknown")
	}
	if sp.Address != "Hard@example.org" || sp.Reason != "user_unknown" || sp.ExpiresAt != nil || sp.Count != 1 ||
		sp.EvidenceStatus != "5.1.1" || sp.EvidenceMessageID != "<m1@sender.example>" || sp.Manual {
		t.Errorf("suppression = %+v; want address with lower-cased domain, permanent, with evidence", sp)
	}
	for _, a := range []string{"alert@example.org", "soft@example.net", "ooo@example.net"} {
		if suppressedNow(t, s, a) != nil {
			t.Errorf("%s suppressed; alert, a single soft bounce and ignore must not suppress", a)
		}
	}

	var kinds, outcome, sending, headers string
	err = s.pool.QueryRow(ctx, `SELECT string_agg(DISTINCT e.kind, ','), min(m.outcome), min(e.sending_domain),
		min(e.original_headers->>'X-Campaign-Id')
		FROM bounce_events e JOIN processed_messages m ON m.id = e.message_ref WHERE m.uid = 1`).Scan(&kinds, &outcome, &sending, &headers)
	if err != nil {
		t.Fatal(err)
	}
	if kinds != "dsn" || outcome != "processed" || sending != "sender.example" || headers != "42" {
		t.Errorf("event of UID 1: kind=%s outcome=%s sending=%s campaign=%s", kinds, outcome, sending, headers)
	}
	var emptyEvents, failedEvents int
	var failedErr string
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM bounce_events WHERE recipient = '' AND reason = 'unknown'),
		(SELECT count(*) FROM bounce_events e JOIN processed_messages m ON m.id = e.message_ref WHERE m.uid = 5),
		(SELECT error FROM processed_messages WHERE uid = 5 AND outcome = 'failed')`).Scan(&emptyEvents, &failedEvents, &failedErr); err != nil {
		t.Fatal(err)
	}
	if emptyEvents != 1 || failedEvents != 0 || failedErr != "header too large" {
		t.Errorf("recipient-less events=%d, events of the failed message=%d (error %q); want 1, 0, the error",
			emptyEvents, failedEvents, failedErr)
	}

	var incidents int64
	var reporter string
	if err := s.pool.QueryRow(ctx, `SELECT incidents, reporting_mta FROM sender_incidents
		WHERE sending_domain = 'sender.example' AND recipient_domain = 'example.org' AND reason = 'blocklisted'`).Scan(&incidents, &reporter); err != nil {
		t.Fatalf("sender_incidents: %v", err)
	}
	if incidents != 1 || reporter != "mx.receiver.example" {
		t.Errorf("sender_incidents: %d incidents from %q, want 1 from mx.receiver.example", incidents, reporter)
	}

	cp, err = s.Checkpoint(ctx, "INBOX")
	if err != nil || cp != (Checkpoint{Mailbox: "INBOX", UIDValidity: 7, LastUID: 9}) {
		t.Errorf("Checkpoint = %+v, %v; want INBOX 7/9", cp, err)
	}
}

func TestWriteBatchIsIdempotent(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	s := newTestStore(t, WithClock(clk.Now))
	b := batchOf(
		msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}),
		msg(4, "d", t0, rcpt{"z@example.org", dsn.ReasonAuthFailure}),
	)
	first := mustWrite(t, s, b)
	if first.Messages != 4 || first.Events != 4 || first.Duplicates != 0 {
		t.Fatalf("first write = %+v", first)
	}
	before := snapshot(t, s)

	clk.Add(time.Hour)
	again := mustWrite(t, s, b)
	if !reflect.DeepEqual(again, BatchResult{Duplicates: 4, DuplicateUIDs: []uint32{1, 2, 3, 4}}) {
		t.Errorf("same batch again = %+v, want only 4 duplicates", again)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("same batch again changed the store:\n before %v\n after  %v", before, after)
	}

	// The same bytes under other UIDs (a copy, or a new UIDVALIDITY) are
	// skipped too, but the checkpoint moves on.
	moved := b
	moved.Messages = nil
	for i, m := range b.Messages {
		m.UID = uint32(100 + i)
		moved.Messages = append(moved.Messages, m)
	}
	moved.LastUID = 103
	if res := mustWrite(t, s, moved); !reflect.DeepEqual(res, BatchResult{Duplicates: 4, DuplicateUIDs: []uint32{100, 101, 102, 103}}) {
		t.Errorf("same content under new UIDs = %+v, want only 4 duplicates", res)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("same content under new UIDs changed the store:\n before %v\n after  %v", before, after)
	}
	if cp, _ := s.Checkpoint(ctx, "INBOX"); cp.LastUID != 103 {
		t.Errorf("checkpoint after a batch of duplicates = %d, want 103", cp.LastUID)
	}

	// A batch with one new message among known ones counts only the new one.
	mixed := batchOf(b.Messages[1], msg(200, "e", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}))
	res := mustWrite(t, s, mixed)
	if res.Messages != 1 || res.Duplicates != 1 || res.Events != 1 {
		t.Errorf("mixed batch = %+v, want 1 new, 1 duplicate, 1 event", res)
	}
	// The same bytes twice in one batch count once.
	twice := batchOf(msg(300, "f", t0, rcpt{"w@example.org", dsn.ReasonUserUnknown}),
		msg(301, "f", t0, rcpt{"w@example.org", dsn.ReasonUserUnknown}))
	if res := mustWrite(t, s, twice); res.Messages != 1 || res.Duplicates != 1 || res.Events != 1 {
		t.Errorf("the same content twice in one batch = %+v, want 1 new, 1 duplicate, 1 event", res)
	}
	if sp := suppressedNow(t, s, "w@example.org"); sp == nil || sp.Count != 1 {
		t.Errorf("w@example.org: %+v, want suppressed with count 1", sp)
	}

	var soft int
	if err := s.pool.QueryRow(ctx, `SELECT counted_bounces FROM soft_bounce_state WHERE address = 'y@example.org'`).Scan(&soft); err != nil {
		t.Fatal(err)
	}
	if soft != 3 {
		t.Errorf("y@example.org has %d soft bounces counted, want 3", soft)
	}
}

func TestWriteBatchFailingHalfWayLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	good := []Message{
		msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown}),
		msg(2, "b", t0, rcpt{"y@example.org", dsn.ReasonMailboxFull}, rcpt{"y2@example.org", dsn.ReasonMailboxFull}),
		msg(3, "c", t0, rcpt{"z@example.org", dsn.ReasonBlocklisted}),
	}
	// The last message carries a reason the schema does not know: the
	// ledger rows, soft-bounce counts and earlier events are already
	// written in the transaction when the events insert fails.
	bad := msg(4, "d", t0, rcpt{"w@example.org", dsn.ReasonUserUnknown})
	bad.Report.Recipients[0].Reason = "no_such_reason"
	_, err := s.WriteBatch(ctx, batchOf(append(good, bad)...))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		t.Fatalf("WriteBatch with an unknown reason = %v, want a check violation", err)
	}
	if c := snapshot(t, s); c != (counts{}) {
		t.Errorf("a failed batch left rows behind: %v", c)
	}
	var mailboxes int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM mailboxes`).Scan(&mailboxes); err != nil || mailboxes != 0 {
		t.Errorf("a failed batch moved the checkpoint (%d rows, %v)", mailboxes, err)
	}

	// Retried without the bad message, everything is there, once.
	res := mustWrite(t, s, batchOf(good...))
	if res.Messages != 3 || res.Events != 4 || res.Suppressed != 1 || res.Incidents != 1 {
		t.Errorf("retried batch = %+v", res)
	}
}

func TestWriteBatchStoresUnknownActionAsEmpty(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	// SendGrid writes "Action: expired"; the parser passes it on as written.
	m := msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonExpired})
	m.Report.Recipients[0].Action = "expired"
	if res := mustWrite(t, s, batchOf(m)); res.Messages != 1 || res.Events != 1 {
		t.Fatalf("WriteBatch = %+v, want the message and its event recorded", res)
	}
	var action string
	if err := s.pool.QueryRow(ctx, `SELECT action FROM bounce_events`).Scan(&action); err != nil || action != "" {
		t.Errorf("stored action %q (%v), want \"\"", action, err)
	}
}

// TestWriteBatchStoresRawBytes writes a message whose Message-ID, error and
// diagnostic hold invalid UTF-8 and NUL bytes, which PostgreSQL refuses in
// text columns: the batch must still commit, with the bytes replaced.
func TestWriteBatchStoresRawBytes(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var noise strings.Builder // incompressible: PostgreSQL compresses long index entries
	for i := range 800 {
		fmt.Fprintf(&noise, "%x", i*2654435761%4294967296)
	}
	long := noise.String() + "@example.org" // no address, and longer than a btree row may be
	m := msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown}, rcpt{"y@example.org", dsn.ReasonBlocklisted}, rcpt{long, dsn.ReasonUnknown})
	m.MessageID = "<\xff\x00id@example.com>"
	m.Report.Recipients[0].Diagnostic = "550 5.1.1 unknown \xfe\x00 user"
	m.Report.ReportingMTA = "mx" + noise.String() + ".example.net" // a key of the reputation counters
	bad := Message{UID: 2, ContentHash: [32]byte{2}, Outcome: OutcomeFailed, Error: "parsing: \xff\x00"}
	b := batchOf(m)
	b.LastUID = 2
	b.Messages = append(b.Messages, bad)
	if res := mustWrite(t, s, b); res.Messages != 2 || res.Events != 3 || res.Incidents != 1 {
		t.Fatalf("WriteBatch = %+v, want both messages, three events and an incident recorded", res)
	}
	var diag, id string
	if err := s.pool.QueryRow(ctx, `SELECT diagnostic FROM bounce_events WHERE recipient = 'x@example.org'`).Scan(&diag); err != nil || diag != "550 5.1.1 unknown \uFFFD user" {
		t.Errorf("stored diagnostic %q (%v)", diag, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT message_id FROM processed_messages WHERE uid = 1`).Scan(&id); err != nil || id != "<\uFFFDid@example.com>" {
		t.Errorf("stored message id %q (%v)", id, err)
	}
}

func TestWriteBatchRejectsBadBatches(t *testing.T) {
	s := newTestStore(t)
	for name, b := range map[string]Batch{
		"no mailbox":     {LastUID: 1, Messages: []Message{msg(1, "a", t0)}},
		"uid zero":       batchOf(msg(0, "a", t0)),
		"uid past last":  {Mailbox: "INBOX", LastUID: 1, Messages: []Message{msg(2, "a", t0)}},
		"uid twice":      batchOf(msg(1, "a", t0), msg(1, "b", t0)),
		"no outcome set": batchOf(Message{UID: 1}),
	} {
		if _, err := s.WriteBatch(context.Background(), b); err == nil {
			t.Errorf("%s: WriteBatch accepted the batch", name)
		}
	}
	if c := snapshot(t, s); c != (counts{}) {
		t.Errorf("rejected batches left rows behind: %v", c)
	}
}

func TestCheckpointFollowsUIDValidity(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	b := batchOf(msg(10, "a", t0))
	mustWrite(t, s, b)
	// A replayed older batch does not move the checkpoint back.
	mustWrite(t, s, Batch{Mailbox: "INBOX", UIDValidity: 7, LastUID: 5})
	if cp, _ := s.Checkpoint(ctx, "INBOX"); cp.LastUID != 10 {
		t.Errorf("checkpoint went back to %d", cp.LastUID)
	}
	// A new UIDVALIDITY starts over.
	mustWrite(t, s, Batch{Mailbox: "INBOX", UIDValidity: 8, LastUID: 3})
	if cp, _ := s.Checkpoint(ctx, "INBOX"); cp.UIDValidity != 8 || cp.LastUID != 3 {
		t.Errorf("checkpoint after UIDVALIDITY change = %+v, want 8/3", cp)
	}
}

func TestSyncReasonTexts(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	texts := []ReasonText{
		{Reason: "blocklisted", Lang: "en", Meaning: "m", Why: "w", Fix: "Delist the IP."},
		{Reason: "blocklisted", Lang: "de", Meaning: "m", Why: "w", Fix: "IP austragen lassen."},
	}
	if err := s.SyncReasonTexts(ctx, texts); err != nil {
		t.Fatal(err)
	}
	texts[0].Fix = "Ask for delisting."
	if err := s.SyncReasonTexts(ctx, texts); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"en": "Ask for delisting.", "de": "IP austragen lassen.", "fr": "Ask for delisting."} {
		rs, err := s.Reasons(ctx, lang)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, r := range rs {
			if r.Reason == "blocklisted" && r.Text != nil {
				got = r.Text.Fix
			}
		}
		if got != want {
			t.Errorf("fix in %s = %q, want %q", lang, got, want)
		}
	}
	err := s.SyncReasonTexts(ctx, []ReasonText{{Reason: "no_such", Lang: "en", Meaning: "m", Why: "w", Fix: "f"}})
	if err == nil {
		t.Error("SyncReasonTexts accepted an unknown reason")
	}
}

// queryInt runs a query returning one integer.
func queryInt(tb testing.TB, s *Store, sql string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		tb.Fatalf("%s: %v", strings.Fields(sql)[0], err)
	}
	return n
}

// TestWriteBatchCancelledIsAllOrNothing cancels WriteBatch at different
// moments: each time, the batch is either wholly there or not at all, and the
// store keeps working.
func TestWriteBatchCancelledIsAllOrNothing(t *testing.T) {
	s := newTestStore(t)
	uid := uint32(0)
	for i := range 10 {
		deadline := time.Duration(i*15) * time.Millisecond
		var msgs []Message
		for j := range 2000 {
			uid++
			msgs = append(msgs, msg(uid, fmt.Sprintf("cancel-%d-%d", i, j), t0,
				rcpt{fmt.Sprintf("u%d@example.org", uid), dsn.ReasonUserUnknown}))
		}
		before := snapshot(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		_, err := s.WriteBatch(ctx, batchOf(msgs...))
		cancel()
		after := snapshot(t, s)
		grew := after.ledger - before.ledger
		t.Logf("deadline %v: err=%v, %d messages written", deadline, err, grew)
		switch {
		case err == nil && (grew != 2000 || after.events-before.events != 2000):
			t.Errorf("run %d: WriteBatch succeeded but wrote %d messages, %d events", i, grew, after.events-before.events)
		case err != nil && after != before && (grew != 2000 || after.events-before.events != 2000 || after.suppressions-before.suppressions != 2000):
			// A deadline that strikes after COMMIT was sent leaves the
			// outcome unknown to the client: the whole batch may have
			// committed (harmless, the ledger skips it next time), but
			// never a part of it.
			t.Errorf("run %d: cancelled WriteBatch (%v) left part of the batch behind:\n before %v\n after  %v", i, err, before, after)
		}
	}
	// The pool is healthy after the cancellations.
	uid++
	if res := mustWrite(t, s, batchOf(msg(uid, "after-cancel", t0, rcpt{"z@example.org", dsn.ReasonUserUnknown}))); res.Messages != 1 {
		t.Errorf("write after cancellations = %+v", res)
	}
}

// TestWriteBatchRejectedIsMarked writes a batch whose data PostgreSQL
// refuses (a reason outside the schema): the error is ErrRejected, so a
// caller knows that writing the same batch again would fail the same way,
// and nothing is left behind.
func TestWriteBatchRejectedIsMarked(t *testing.T) {
	s := newTestStore(t)
	m := msg(1, "a", t0, rcpt{"x@example.org", dsn.ReasonUserUnknown})
	m.Report.Recipients[0].Reason = "no_such_reason"
	_, err := s.WriteBatch(context.Background(), batchOf(m))
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("WriteBatch = %v, want ErrRejected", err)
	}
	if c := snapshot(t, s); c != (counts{}) {
		t.Errorf("a rejected batch left rows behind: %v", c)
	}
	// A connection failure is not a rejection.
	s.Close()
	if _, err := s.WriteBatch(context.Background(), batchOf(msg(2, "b", t0))); err == nil || errors.Is(err, ErrRejected) {
		t.Errorf("WriteBatch on a closed store = %v, want an error that is not ErrRejected", err)
	}
}
