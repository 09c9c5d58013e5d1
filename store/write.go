package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SuppressionChannel is the PostgreSQL NOTIFY channel on which WriteBatch
// announces each address it newly suppresses (the payload is the address),
// in the same transaction: listeners hear of it exactly when it commits.
const SuppressionChannel = "bounced_suppressions"

// ErrRejected marks a batch PostgreSQL refused for its data (SQLSTATE class
// 22, data exception, or 23, integrity constraint violation): writing the
// same batch again fails the same way. The caller can find the message at
// fault by writing the messages one by one, and record that one without its
// report (imapwatch does).
var ErrRejected = errors.New("batch rejected by the database")

// maxAttempts bounds the retries of a batch transaction that PostgreSQL
// aborted for a deadlock or a serialization failure.
const maxAttempts = 4

// WriteBatch records one fetched batch in one transaction: the ledger entry of
// every message, one bounce event per recipient result, suppressions (at
// once for the verdict suppress; after Policy.SoftThreshold soft bounces
// within Policy.SoftWindow for the verdict soft), the reputation counters
// and the mailbox checkpoint. Either all of it commits or none of it.
//
// It is idempotent: a message already in the ledger, by mailbox, UIDVALIDITY
// and UID or by content hash, is skipped entirely (no event, no count, no
// suppression), while the checkpoint still advances. The verdict alert
// never suppresses; results without a recipient are recorded as events only;
// messages with the outcome unrecognized or failed are recorded in the ledger
// only. Event times are the messages' ReceivedAt, else the store's clock.
//
// An Action outside RFC 3464's five (the parser passes unknown values on as
// written, e.g. SendGrid's "expired") is stored as "": one odd message from
// the wire must not make its batch, and so the mailbox, fail for good. A
// batch whose Messages carry a reason or kind outside the schema fails and
// leaves nothing behind.
func (s *Store) WriteBatch(ctx context.Context, b Batch) (BatchResult, error) {
	if err := b.validate(); err != nil {
		return BatchResult{}, fmt.Errorf("writing batch: %w", err)
	}
	now := s.clock()
	p := prepare(b, now)
	for attempt := 1; ; attempt++ {
		res, err := s.writeBatch(ctx, b, p, now)
		if err == nil {
			return res, nil
		}
		if leaseLost(err) {
			return BatchResult{}, fmt.Errorf("writing batch of %s up to UID %d: %w: %w", b.Mailbox, b.LastUID, ErrLeaseLost, err)
		}
		if rejected(err) {
			return BatchResult{}, fmt.Errorf("writing batch of %s up to UID %d: %w: %w", b.Mailbox, b.LastUID, ErrRejected, err)
		}
		if attempt == maxAttempts || !retryable(err) {
			return BatchResult{}, fmt.Errorf("writing batch of %s up to UID %d: %w", b.Mailbox, b.LastUID, err)
		}
		select {
		case <-ctx.Done():
			return BatchResult{}, fmt.Errorf("writing batch of %s up to UID %d: %w", b.Mailbox, b.LastUID, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

// retryable reports whether PostgreSQL aborted the transaction in a way that
// a second attempt can cure.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// rejected reports whether PostgreSQL refused the batch for its data.
func rejected(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23"))
}

func (b Batch) validate() error {
	if b.Mailbox == "" {
		return errors.New("batch without mailbox name")
	}
	seen := make(map[uint32]bool, len(b.Messages))
	for _, m := range b.Messages {
		switch {
		case m.UID == 0:
			return fmt.Errorf("message without UID in %s", b.Mailbox)
		case m.UID > b.LastUID:
			return fmt.Errorf("message UID %d beyond the batch's last UID %d", m.UID, b.LastUID)
		case seen[m.UID]:
			return fmt.Errorf("UID %d twice in one batch", m.UID)
		}
		switch m.Outcome {
		case OutcomeProcessed, OutcomeUnrecognized, OutcomeFailed:
		default:
			return fmt.Errorf("UID %d: unknown outcome %q", m.UID, m.Outcome)
		}
		seen[m.UID] = true
	}
	return nil
}

// event is one recipient result about to be stored.
type event struct {
	uid       uint32
	order     int    // place in the batch
	bounceID  string // the bounce's own Message-ID
	occurred  time.Time
	res       dsn.Result
	address   string // normalised; "" when the recipient is not an address
	domain    string // recipient domain, lower-cased
	sending   string // sending domain, lower-cased
	reporting string // reporting MTA, lower-cased
	headers   string // original headers as JSON
}

// prepared is a batch turned into rows, sorted so that concurrent writers
// take their locks in the same order.
type prepared struct {
	messages []Message // sorted by content hash
	events   []event   // in message order
}

func prepare(b Batch, now time.Time) prepared {
	p := prepared{messages: slices.Clone(b.Messages)}
	slices.SortFunc(p.messages, func(x, y Message) int { return bytes.Compare(x.ContentHash[:], y.ContentHash[:]) })
	for _, m := range b.Messages {
		if m.Outcome != OutcomeProcessed || m.Report == nil {
			continue
		}
		occurred := now
		if !m.ReceivedAt.IsZero() {
			occurred = m.ReceivedAt.UTC().Truncate(time.Microsecond)
		}
		headers := "{}"
		if len(m.Report.Original.Headers) > 0 {
			if j, err := json.Marshal(m.Report.Original.Headers); err == nil {
				headers = string(j)
			}
		}
		sending := domainOf(m.Report.Original.From)
		reporting := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(m.Report.ReportingMTA), "."))
		for _, r := range m.Report.Results() {
			ev := event{uid: m.UID, order: len(p.events), bounceID: dsn.CleanText(m.MessageID), occurred: occurred,
				res: r, sending: sending, reporting: reporting, headers: headers}
			if ev.res.Kind == "" {
				ev.res.Kind = dsn.KindUnrecognized
			}
			if ev.res.Reason == "" {
				ev.res.Reason = dsn.ReasonUnknown
			}
			if ev.res.Scope == "" {
				ev.res.Scope = dsn.ScopeNone
			}
			if ev.res.Verdict == "" {
				ev.res.Verdict = dsn.VerdictIgnore
			}
			if ev.res.Authenticity == "" {
				ev.res.Authenticity = dsn.AuthenticityUnsigned
			}
			switch ev.res.Action {
			case "", dsn.ActionFailed, dsn.ActionDelayed, dsn.ActionDelivered, dsn.ActionRelayed, dsn.ActionExpanded:
			default:
				ev.res.Action = "" // the schema's "no action"; the diagnostic keeps the evidence
			}
			for _, f := range []*string{&ev.res.Recipient, &ev.res.Status, &ev.res.Diagnostic, &ev.res.RemoteMTA,
				&ev.res.ReportingMTA, &ev.res.FeedbackType, &ev.res.OriginalMessageID, &ev.res.OriginalFrom, &ev.sending, &ev.reporting} {
				*f = dsn.CleanText(*f)
			}
			// Indexed columns stay far below PostgreSQL's btree row limit
			// (about 2,700 bytes), whatever a hostile bounce puts there.
			for _, f := range []*string{&ev.res.Recipient, &ev.res.RemoteMTA, &ev.res.ReportingMTA, &ev.sending, &ev.reporting} {
				*f = clip(*f, maxIndexedText)
			}
			if a, d, ok := NormalizeAddress(ev.res.Recipient); ok {
				ev.address, ev.domain = a, d
				ev.res.Recipient = a
			}
			p.events = append(p.events, ev)
		}
	}
	return p
}

// writeBatch runs the transaction of one batch in two round trips: BEGIN
// with the ledger, the events and the soft-bounce counts (recordMessages);
// then the suppressions, reputation counters and checkpoint with COMMIT.
// The transaction is opened and closed by hand, not with pgx.Tx, so that
// BEGIN and COMMIT ride along with the statements.
func (s *Store) writeBatch(ctx context.Context, b Batch, p prepared, now time.Time) (res BatchResult, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Release()
	defer func() {
		if err != nil {
			// Leave no transaction behind: roll back, or else close the
			// session (the pool then discards it).
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				_ = conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}
	}()

	first := &pgx.Batch{}
	first.Queue("BEGIN")
	if b.Lease.Generation != 0 {
		// The fencing check: it locks the lease row until COMMIT.
		first.Queue(`SELECT check_mailbox_lease($1, $2, $3)`, b.Mailbox, b.Lease.Replica, b.Lease.Generation)
	}
	queueRecordMessages(first, b, p, now, s.policy.SoftWindow)
	keys := candidateKeys(p.events)
	if len(keys) > 0 {
		queueAddressState(first, b.Mailbox, keys, now)
	}
	br := conn.SendBatch(ctx, first)
	dups, counted, err := readRecorded(br, b.Lease.Generation != 0)
	var state map[string]addrState
	var startedInHour int
	if err == nil && len(keys) > 0 {
		state, startedInHour, err = readAddressState(br)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recording ledger and events: %w", cerr)
	}
	if err != nil {
		return res, err
	}
	res.Duplicates = len(dups)
	for uid := range dups {
		res.DuplicateUIDs = append(res.DuplicateUIDs, uid)
	}
	slices.Sort(res.DuplicateUIDs)
	res.Messages = len(b.Messages) - len(dups)

	events := p.events
	if len(dups) > 0 {
		events = nil
		for _, ev := range p.events {
			if !dups[ev.uid] {
				events = append(events, ev)
			}
		}
	}
	res.Events = len(events)
	for _, ev := range events {
		if ev.res.Verdict == dsn.VerdictAlert {
			res.Incidents++
		}
	}
	sups := mergeSuppressions(immediateSuppressions(events), s.softSuppressions(events, counted))
	bk := brake(sups, state, b.Limits, startedInHour)
	res.HeldPerMessage, res.HeldPerHour, res.LiftedKept = bk.perMessage, bk.perHour, bk.liftedKept
	rep := reputation(events)

	last := &pgx.Batch{}
	if len(bk.apply) > 0 {
		queueSuppressions(last, bk.apply, now)
	}
	if len(bk.held) > 0 {
		queueHeld(last, b.Mailbox, bk.held, now)
	}
	if len(bk.unheld) > 0 {
		last.Queue(`DELETE FROM held_suppressions WHERE lower(address) = ANY($1::text[])`, bk.unheld)
	}
	if bk.started > 0 {
		queueStarts(last, b.Mailbox, bk.started, now)
	}
	if len(rep) > 0 {
		queueReputation(last, rep)
	}
	last.Queue(`
		INSERT INTO mailboxes (mailbox, uidvalidity, last_uid, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (mailbox) DO UPDATE SET
			last_uid = CASE WHEN mailboxes.uidvalidity = excluded.uidvalidity
				THEN greatest(mailboxes.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
			uidvalidity = excluded.uidvalidity,
			updated_at = excluded.updated_at`,
		b.Mailbox, int64(b.UIDValidity), int64(b.LastUID), now)
	last.Queue("COMMIT")

	br = conn.SendBatch(ctx, last)
	defer br.Close()
	if len(bk.apply) > 0 {
		rows, err := br.Query()
		if err != nil {
			return res, fmt.Errorf("upserting suppressions: %w", err)
		}
		applied := make(map[string]*suppression, len(bk.apply))
		for _, sp := range bk.apply {
			applied[sp.key] = sp
		}
		for rows.Next() {
			var (
				addr    string
				started bool
				notify  *string
			)
			if err := rows.Scan(&addr, &started, &notify); err != nil {
				rows.Close()
				return res, fmt.Errorf("upserting suppressions: %w", err)
			}
			res.Suppressed++
			outcome := SuppressionRenewed
			if started {
				outcome = SuppressionStarted
			}
			if sp := applied[strings.ToLower(addr)]; sp != nil {
				res.Suppressions = countSuppression(res.Suppressions, sp.reason, sp.auth, outcome)
			}
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("upserting suppressions: %w", err)
		}
	}
	if len(bk.held) > 0 {
		if _, err := br.Exec(); err != nil {
			return res, fmt.Errorf("holding suppressions: %w", err)
		}
		for _, h := range bk.held {
			res.Suppressions = countSuppression(res.Suppressions, h.sp.reason, h.sp.auth, SuppressionHeld)
		}
	}
	if len(bk.unheld) > 0 {
		if _, err := br.Exec(); err != nil {
			return res, fmt.Errorf("releasing held suppressions: %w", err)
		}
	}
	if bk.started > 0 {
		if _, err := br.Exec(); err != nil {
			return res, fmt.Errorf("counting suppressions started: %w", err)
		}
	}
	if len(rep) > 0 {
		if _, err := br.Exec(); err != nil {
			return res, fmt.Errorf("counting reputation: %w", err)
		}
	}
	if _, err := br.Exec(); err != nil {
		return res, fmt.Errorf("advancing checkpoint: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return res, fmt.Errorf("committing: %w", err)
	}
	if err := br.Close(); err != nil {
		return res, fmt.Errorf("committing: %w", err)
	}
	return res, nil
}

// recordMessages records the messages not yet in the ledger, the events of
// those (and only those), and adds their soft bounces to the soft-bounce
// state of each address, keeping the times within the window ($12); the
// ledger names the replica that recorded the messages ($35). It
// returns the UID of each message already in the ledger (kind 'd', for
// duplicate; usually none) and the soft bounces now counted for each address
// (kind 's'). Rows are taken in a fixed order
// (content hash, address) so that concurrent writers do not deadlock.
const recordMessages = `
	WITH new AS (
		INSERT INTO processed_messages
			(mailbox, uidvalidity, uid, message_id, content_hash, size, received_at, kind, outcome, error, processed_at, replica)
		SELECT $1, $2, u.uid, u.message_id, u.content_hash, u.size, u.received_at, u.kind, u.outcome, u.error, $3, $35
		FROM unnest($4::bigint[], $5::text[], $6::bytea[], $7::bigint[], $8::timestamptz[], $9::text[], $10::text[], $11::text[])
			AS u(uid, message_id, content_hash, size, received_at, kind, outcome, error)
		ON CONFLICT DO NOTHING
		RETURNING uid, id
	), events AS (
		INSERT INTO bounce_events (message_ref, occurred_at, recorded_at, kind, recipient, recipient_domain,
			status, status_inferred, smtp_code, action, reason, scope, permanent, verdict, diagnostic,
			remote_mta, reporting_mta, feedback_type, original_message_id, original_from, sending_domain,
			original_headers, authenticity)
		SELECT new.id, e.occurred_at, $3, e.kind, e.recipient, e.recipient_domain,
			e.status, e.status_inferred, e.smtp_code, e.action, e.reason, e.scope, e.permanent, e.verdict, e.diagnostic,
			e.remote_mta, e.reporting_mta, e.feedback_type, e.original_message_id, e.original_from, e.sending_domain,
			e.original_headers::jsonb, e.authenticity
		FROM unnest($13::bigint[], $14::timestamptz[], $15::text[], $16::text[], $17::text[], $18::text[], $19::boolean[],
			$20::integer[], $21::text[], $22::text[], $23::text[], $24::boolean[], $25::text[], $26::text[], $27::text[],
			$28::text[], $29::text[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[])
			AS e(uid, occurred_at, kind, recipient, recipient_domain, status, status_inferred,
				smtp_code, action, reason, scope, permanent, verdict, diagnostic, remote_mta,
				reporting_mta, feedback_type, original_message_id, original_from, sending_domain, original_headers,
				authenticity)
		JOIN new ON new.uid = e.uid
		RETURNING recipient, recipient_domain, occurred_at, reason, verdict
	), incoming AS (
		SELECT lower(e.recipient) AS key,
			(array_agg(e.recipient ORDER BY e.occurred_at DESC))[1] AS address,
			array_agg(e.occurred_at) AS times,
			(array_agg(e.reason ORDER BY e.occurred_at DESC))[1] AS reason,
			max(e.occurred_at) AS last_seen
		FROM events AS e
		WHERE e.verdict = 'soft' AND e.recipient_domain <> ''
		GROUP BY 1
	), soft AS (
		INSERT INTO soft_bounces AS b (address, bounce_times, last_reason, last_seen, updated_at)
		SELECT address, soft_window(times, NULL, $12), reason, last_seen, $3 FROM incoming ORDER BY key
		ON CONFLICT ((lower(address))) DO UPDATE SET
			bounce_times = soft_window(b.bounce_times || excluded.bounce_times, b.counted_since, $12),
			last_reason = CASE WHEN excluded.last_seen >= coalesce(b.last_seen, '-infinity')
				THEN excluded.last_reason ELSE b.last_reason END,
			last_seen = greatest(b.last_seen, excluded.last_seen),
			updated_at = excluded.updated_at
		RETURNING lower(address) AS key, bounce_times
	)
	SELECT 'd', u.uid, NULL, NULL FROM unnest($4::bigint[]) AS u(uid) WHERE u.uid NOT IN (SELECT uid FROM new)
	UNION ALL
	SELECT 's', NULL, key, bounce_times FROM soft`

func queueRecordMessages(batch *pgx.Batch, b Batch, p prepared, now time.Time, window time.Duration) {
	n := len(p.messages)
	uids := make([]int64, n)
	ids := make([]string, n)
	hashes := make([][]byte, n)
	sizes := make([]int64, n)
	received := make([]*time.Time, n)
	kinds := make([]*string, n)
	outcomes := make([]string, n)
	errs := make([]string, n)
	for i := range p.messages {
		m := &p.messages[i]
		uids[i] = int64(m.UID)
		ids[i] = dsn.CleanText(m.MessageID)
		hashes[i] = m.ContentHash[:]
		sizes[i] = m.Size
		if !m.ReceivedAt.IsZero() {
			received[i] = &m.ReceivedAt
		}
		if m.Report != nil {
			k := string(m.Report.Kind)
			if k == "" {
				k = string(dsn.KindUnrecognized)
			}
			kinds[i] = &k
		}
		outcomes[i] = string(m.Outcome)
		errs[i] = dsn.CleanText(m.Error)
	}
	args := []any{b.Mailbox, int64(b.UIDValidity), now,
		uids, ids, hashes, sizes, received, kinds, outcomes, errs,
		window}
	args = append(args, eventColumnsOf(p.events)...)
	batch.Queue(recordMessages, append(args, dsn.CleanText(b.Lease.Replica))...)
}

// readRecorded reads the result of the lease check, when fenced, and of
// recordMessages: the UIDs of the messages
// already in the ledger, and the soft bounce times counted by lower-cased
// address.
func readRecorded(br pgx.BatchResults, fenced bool) (dups map[uint32]bool, counted map[string][]time.Time, err error) {
	if _, err := br.Exec(); err != nil { // BEGIN
		return nil, nil, fmt.Errorf("recording ledger and events: %w", err)
	}
	if fenced {
		if _, err := br.Exec(); err != nil {
			return nil, nil, fmt.Errorf("checking the lease: %w", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("recording ledger and events: %w", err)
	}
	defer rows.Close()
	dups = map[uint32]bool{}
	counted = map[string][]time.Time{}
	for rows.Next() {
		var kind string
		var uid *int64
		var key *string
		var times []time.Time
		if err := rows.Scan(&kind, &uid, &key, &times); err != nil {
			return nil, nil, fmt.Errorf("recording ledger and events: %w", err)
		}
		switch {
		case kind == "d" && uid != nil:
			dups[uint32(*uid)] = true
		case kind == "s" && key != nil:
			counted[*key] = times
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("recording ledger and events: %w", err)
	}
	return dups, counted, nil
}

// eventColumnsOf returns the events as the column arrays recordMessages
// takes ($13 on).
func eventColumnsOf(events []event) []any {
	n := len(events)
	var (
		uid                                                 = make([]int64, n)
		occurred                                            = make([]time.Time, n)
		kind, recipient, domain, status, action             = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		reason, scope, verdict, diag, remote, reporting, fb = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		origID, origFrom, sending, headers, auth            = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		inferred, permanent                                 = make([]bool, n), make([]bool, n)
		code                                                = make([]int32, n)
	)
	for i := range events {
		ev := &events[i]
		r := &ev.res
		uid[i], occurred[i] = int64(ev.uid), ev.occurred
		kind[i], recipient[i], domain[i] = string(r.Kind), r.Recipient, ev.domain
		status[i], inferred[i], code[i], action[i] = r.Status, r.StatusInferred, int32(r.SMTPCode), string(r.Action)
		reason[i], scope[i], permanent[i], verdict[i] = string(r.Reason), string(r.Scope), r.Permanent, string(r.Verdict)
		diag[i], remote[i], reporting[i], fb[i] = r.Diagnostic, r.RemoteMTA, r.ReportingMTA, r.FeedbackType
		origID[i], origFrom[i], sending[i], headers[i] = r.OriginalMessageID, r.OriginalFrom, ev.sending, ev.headers
		auth[i] = string(r.Authenticity)
	}
	return []any{uid, occurred, kind, recipient, domain, status, inferred, code, action, reason, scope,
		permanent, verdict, diag, remote, reporting, fb, origID, origFrom, sending, headers, auth}
}

// maxIndexedText bounds the bytes of a text that goes into an index: an
// address is at most 254 bytes (RFC 5321), a host name 255.
const maxIndexedText = 320

// clip shortens s to at most n bytes, cutting at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Checkpoint returns the position reached in mailbox: the UIDVALIDITY and
// the last UID of the last committed batch, both zero when none has been.
func (s *Store) Checkpoint(ctx context.Context, mailbox string) (Checkpoint, error) {
	cp := Checkpoint{Mailbox: mailbox}
	var validity, last int64
	err := s.pool.QueryRow(ctx, `SELECT uidvalidity, last_uid FROM mailboxes WHERE mailbox = $1`, mailbox).Scan(&validity, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading checkpoint of %s: %w", mailbox, err)
	}
	cp.UIDValidity, cp.LastUID = uint32(validity), uint32(last)
	return cp, nil
}
