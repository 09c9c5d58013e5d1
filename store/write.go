package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SuppressionChannel is the PostgreSQL NOTIFY channel on which WriteBatch
// announces each address it newly suppresses (the payload is the address),
// in the same transaction: listeners hear of it exactly when it commits.
const SuppressionChannel = "bounced_suppressions"

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
// never suppresses; results without a recipient are recorded as events only.
//
// A batch whose Messages carry a reason, kind or action outside the schema
// fails and leaves nothing behind.
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
			ev := event{uid: m.UID, occurred: occurred, res: r, sending: sending, reporting: reporting, headers: headers}
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
			if a, d, ok := NormalizeAddress(r.Recipient); ok {
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
	queueRecordMessages(first, b, p, now, s.policy.SoftWindow)
	br := conn.SendBatch(ctx, first)
	dups, counted, err := readRecorded(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recording ledger and events: %w", cerr)
	}
	if err != nil {
		return res, err
	}
	res.Duplicates = len(dups)
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
	rep := reputation(events)

	last := &pgx.Batch{}
	if len(sups) > 0 {
		queueSuppressions(last, sups, now)
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
	if len(sups) > 0 {
		rows, err := br.Query()
		if err != nil {
			return res, fmt.Errorf("upserting suppressions: %w", err)
		}
		for rows.Next() {
			res.Suppressed++
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("upserting suppressions: %w", err)
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
// state of each address, keeping the times within the window ($16). It
// returns the UID of each message already in the ledger (kind 'd', for
// duplicate; usually none) and the soft bounces now counted for each address
// (kind 's'). Rows are taken in a fixed order
// (content hash, address) so that concurrent writers do not deadlock.
const recordMessages = `
	WITH new AS (
		INSERT INTO processed_messages
			(mailbox, uidvalidity, uid, message_id, content_hash, size, received_at, kind, outcome, error, processed_at)
		SELECT $1, $2, u.uid, u.message_id, u.content_hash, u.size, u.received_at, u.kind, u.outcome, u.error, $3
		FROM unnest($4::bigint[], $5::text[], $6::bytea[], $7::bigint[], $8::timestamptz[], $9::text[], $10::text[], $11::text[])
			AS u(uid, message_id, content_hash, size, received_at, kind, outcome, error)
		ON CONFLICT DO NOTHING
		RETURNING uid, id
	), events AS (
		INSERT INTO bounce_events (message_ref, occurred_at, recorded_at, kind, recipient, recipient_domain,
			status, status_inferred, smtp_code, action, reason, scope, permanent, verdict, diagnostic,
			remote_mta, reporting_mta, feedback_type, original_message_id, original_from, sending_domain,
			original_headers)
		SELECT new.id, e.occurred_at, $3, e.kind, e.recipient, e.recipient_domain,
			e.status, e.status_inferred, e.smtp_code, e.action, e.reason, e.scope, e.permanent, e.verdict, e.diagnostic,
			e.remote_mta, e.reporting_mta, e.feedback_type, e.original_message_id, e.original_from, e.sending_domain,
			e.original_headers::jsonb
		FROM unnest($17::bigint[], $18::timestamptz[], $19::text[], $20::text[], $21::text[], $22::text[], $23::boolean[],
			$24::integer[], $25::text[], $26::text[], $27::text[], $28::boolean[], $29::text[], $30::text[], $31::text[],
			$32::text[], $33::text[], $34::text[], $35::text[], $36::text[], $37::text[])
			AS e(uid, occurred_at, kind, recipient, recipient_domain, status, status_inferred,
				smtp_code, action, reason, scope, permanent, verdict, diagnostic, remote_mta,
				reporting_mta, feedback_type, original_message_id, original_from, sending_domain, original_headers)
		JOIN new ON new.uid = e.uid
	), incoming AS (
		SELECT lower(u.address) AS key,
			(array_agg(u.address ORDER BY u.seen DESC))[1] AS address,
			array_agg(u.seen) AS times,
			(array_agg(u.reason ORDER BY u.seen DESC))[1] AS reason,
			max(u.seen) AS last_seen
		FROM unnest($12::bigint[], $13::text[], $14::timestamptz[], $15::text[]) AS u(uid, address, seen, reason)
		JOIN new ON new.uid = u.uid
		GROUP BY 1
	), soft AS (
		INSERT INTO soft_bounces AS b (address, bounce_times, last_reason, last_seen, updated_at)
		SELECT address, soft_window(times, NULL, $16), reason, last_seen, $3 FROM incoming ORDER BY key
		ON CONFLICT ((lower(address))) DO UPDATE SET
			bounce_times = soft_window(b.bounce_times || excluded.bounce_times, b.counted_since, $16),
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
		ids[i] = m.MessageID
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
		errs[i] = m.Error
	}
	var softUIDs []int64
	var softAddrs, softReasons []string
	var softTimes []time.Time
	for _, ev := range p.events {
		if ev.res.Verdict == dsn.VerdictSoft && ev.address != "" {
			softUIDs = append(softUIDs, int64(ev.uid))
			softAddrs = append(softAddrs, ev.address)
			softTimes = append(softTimes, ev.occurred)
			softReasons = append(softReasons, string(ev.res.Reason))
		}
	}
	args := []any{b.Mailbox, int64(b.UIDValidity), now,
		uids, ids, hashes, sizes, received, kinds, outcomes, errs,
		softUIDs, softAddrs, softTimes, softReasons, window}
	batch.Queue(recordMessages, append(args, eventColumnsOf(p.events)...)...)
}

// readRecorded reads the result of recordMessages: the UIDs of the messages
// already in the ledger, and the soft bounce times counted by lower-cased
// address.
func readRecorded(br pgx.BatchResults) (dups map[uint32]bool, counted map[string][]time.Time, err error) {
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("beginning transaction: %w", err)
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
// takes ($17 on).
func eventColumnsOf(events []event) []any {
	n := len(events)
	var (
		uid                                                 = make([]int64, n)
		occurred                                            = make([]time.Time, n)
		kind, recipient, domain, status, action             = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		reason, scope, verdict, diag, remote, reporting, fb = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		origID, origFrom, sending, headers                  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
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
	}
	return []any{uid, occurred, kind, recipient, domain, status, inferred, code, action, reason, scope,
		permanent, verdict, diag, remote, reporting, fb, origID, origFrom, sending, headers}
}

// suppression is one address to suppress (or whose suppression to renew),
// merged from the batch's events.
type suppression struct {
	key       string // lower(address)
	address   string
	reason    string
	scope     string
	first     time.Time
	last      time.Time
	count     int        // bounces of this batch that renew a suppression in force
	start     int        // bounces that start a suppression (the counted soft bounces)
	expires   *time.Time // nil: permanent
	messageID string
	status    string
	diag      string
}

// take makes ev the suppression's evidence when it is the latest seen.
func (sp *suppression) take(ev event) {
	if sp.count == 0 || ev.occurred.After(sp.last) || ev.occurred.Equal(sp.last) {
		sp.address = ev.address
		sp.reason, sp.scope = string(ev.res.Reason), string(ev.res.Scope)
		sp.messageID, sp.status, sp.diag = ev.res.OriginalMessageID, ev.res.Status, ev.res.Diagnostic
	}
	if sp.count == 0 || ev.occurred.Before(sp.first) {
		sp.first = ev.occurred
	}
	if sp.count == 0 || ev.occurred.After(sp.last) {
		sp.last = ev.occurred
	}
	sp.count++
	sp.start++
}

// immediateSuppressions merges the events with the verdict suppress by
// address.
func immediateSuppressions(events []event) map[string]*suppression {
	out := map[string]*suppression{}
	for _, ev := range events {
		if ev.res.Verdict != dsn.VerdictSuppress || ev.address == "" {
			continue
		}
		key := strings.ToLower(ev.address)
		sp := out[key]
		if sp == nil {
			sp = &suppression{key: key}
			out[key] = sp
		}
		sp.take(ev)
	}
	return out
}

// softSuppressions returns the suppressions due by soft bounces: addresses
// with a soft bounce in events that now have Policy.SoftThreshold soft
// bounces counted within Policy.SoftWindow (counted, by lower-cased address).
func (s *Store) softSuppressions(events []event, counted map[string][]time.Time) []*suppression {
	incoming := map[string]*suppression{}
	for _, ev := range events {
		if ev.res.Verdict != dsn.VerdictSoft || ev.address == "" {
			continue
		}
		key := strings.ToLower(ev.address)
		sp := incoming[key]
		if sp == nil {
			sp = &suppression{key: key}
			incoming[key] = sp
		}
		sp.take(ev)
	}
	var due []*suppression
	for key, times := range counted {
		sp := incoming[key]
		if sp == nil || len(times) < s.policy.SoftThreshold {
			continue
		}
		sp.first = slices.MinFunc(times, time.Time.Compare).UTC()
		sp.last = slices.MaxFunc(times, time.Time.Compare).UTC()
		sp.start = len(times)
		exp := sp.last.Add(s.policy.SoftExpiry)
		sp.expires = &exp
		due = append(due, sp)
	}
	return due
}

// mergeSuppressions merges the soft-bounce suppressions due into the
// immediate ones and returns them sorted by key. An immediate (permanent)
// suppression wins over an expiring one for the reason and evidence.
func mergeSuppressions(imm map[string]*suppression, soft []*suppression) []*suppression {
	for _, sp := range soft {
		hard := imm[sp.key]
		if hard == nil {
			imm[sp.key] = sp
			continue
		}
		hard.count += sp.count
		hard.start += sp.start
		if sp.first.Before(hard.first) {
			hard.first = sp.first
		}
		if sp.last.After(hard.last) {
			hard.last = sp.last
		}
	}
	out := make([]*suppression, 0, len(imm))
	for _, sp := range imm {
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b *suppression) int { return cmp.Compare(a.key, b.key) })
	return out
}

// upsertSuppressions is the suppression upsert. A new row counts the
// bounces that started it ($7: for soft bounces, all those counted). An
// existing suppression in force (not lifted, not expired at $1) is renewed:
// it counts the batch's bounces ($8, proposed as last_write_count), a
// permanent one stays permanent, an expiring one is extended. One not in
// force starts over. A suppression lifted by hand is started again only by
// a bounce seen after the lift. Newly started ones are announced by NOTIFY.
const upsertSuppressions = `
	WITH up AS (
		INSERT INTO suppressions AS s (address, reason, scope, first_seen, last_seen, bounce_count, last_write_count,
			expires_at, evidence_message_id, evidence_status, evidence_diagnostic, manual, active_since, updated_at)
		SELECT DISTINCT ON (lower(u.address)) u.address, u.reason, u.scope, u.first_seen, u.last_seen, u.start_n,
			u.renew_n, u.expires_at, u.message_id, u.status, u.diagnostic, false, $1::timestamptz, $1::timestamptz
		FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::integer[],
			$8::integer[], $9::timestamptz[], $10::text[], $11::text[], $12::text[])
			AS u(address, reason, scope, first_seen, last_seen, start_n, renew_n, expires_at, message_id, status, diagnostic)
		ORDER BY lower(u.address)
		ON CONFLICT ((lower(address))) DO UPDATE SET
			address = CASE WHEN ` + inForce + ` THEN s.address ELSE excluded.address END,
			reason = CASE WHEN ` + keepEvidence + ` THEN s.reason ELSE excluded.reason END,
			scope = CASE WHEN ` + keepEvidence + ` THEN s.scope ELSE excluded.scope END,
			evidence_message_id = CASE WHEN ` + keepEvidence + ` THEN s.evidence_message_id ELSE excluded.evidence_message_id END,
			evidence_status = CASE WHEN ` + keepEvidence + ` THEN s.evidence_status ELSE excluded.evidence_status END,
			evidence_diagnostic = CASE WHEN ` + keepEvidence + ` THEN s.evidence_diagnostic ELSE excluded.evidence_diagnostic END,
			first_seen = CASE WHEN ` + inForce + ` THEN least(s.first_seen, excluded.first_seen) ELSE excluded.first_seen END,
			last_seen = CASE WHEN ` + inForce + ` THEN greatest(s.last_seen, excluded.last_seen) ELSE excluded.last_seen END,
			bounce_count = CASE WHEN ` + inForce + ` THEN s.bounce_count + excluded.last_write_count ELSE excluded.bounce_count END,
			last_write_count = CASE WHEN ` + inForce + ` THEN excluded.last_write_count ELSE excluded.bounce_count END,
			expires_at = CASE
				WHEN ` + inForce + ` AND s.expires_at IS NULL THEN NULL
				WHEN excluded.expires_at IS NULL THEN NULL
				WHEN ` + inForce + ` THEN greatest(s.expires_at, excluded.expires_at)
				ELSE excluded.expires_at END,
			manual = CASE WHEN ` + inForce + ` THEN s.manual ELSE false END,
			active_since = CASE WHEN ` + inForce + ` THEN s.active_since ELSE $1 END,
			lifted_at = NULL,
			updated_at = $1
		WHERE s.lifted_at IS NULL OR excluded.last_seen > s.lifted_at
		RETURNING address, active_since = $1 AS started
	)
	SELECT address, started, CASE WHEN started THEN pg_notify('` + SuppressionChannel + `', address)::text END
	FROM up`

// inForce is true when the existing row s suppresses at $1.
const inForce = `(s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $1))`

// keepEvidence keeps the reason and evidence of a permanent suppression in
// force when an expiring one (from soft bounces) renews it.
const keepEvidence = `(` + inForce + ` AND s.expires_at IS NULL AND excluded.expires_at IS NOT NULL)`

func queueSuppressions(batch *pgx.Batch, sups []*suppression, now time.Time) {
	n := len(sups)
	addr, reason, scope := make([]string, n), make([]string, n), make([]string, n)
	first, last := make([]time.Time, n), make([]time.Time, n)
	count := make([]int32, n)
	expires := make([]*time.Time, n)
	renew := make([]int32, n)
	msgID, status, diag := make([]string, n), make([]string, n), make([]string, n)
	for i, sp := range sups {
		addr[i], reason[i], scope[i] = sp.address, sp.reason, sp.scope
		first[i], last[i], count[i], renew[i], expires[i] = sp.first, sp.last, int32(sp.start), int32(sp.count), sp.expires
		msgID[i], status[i], diag[i] = sp.messageID, sp.status, sp.diag
	}
	batch.Queue(upsertSuppressions, now, addr, reason, scope, first, last, count, renew, expires, msgID, status, diag)
}

// repKey is one reputation counter.
type repKey struct {
	day                          time.Time
	recipient, sending, reporter string
	reason                       string
}

type repCount struct {
	n           int64
	first, last time.Time
}

// reputation counts the batch's failures (every verdict but ignore) per
// day, recipient domain, sending domain, reporting MTA and reason.
func reputation(events []event) map[repKey]*repCount {
	out := map[repKey]*repCount{}
	for _, ev := range events {
		if ev.res.Verdict == dsn.VerdictIgnore {
			continue
		}
		y, m, d := ev.occurred.Date()
		k := repKey{time.Date(y, m, d, 0, 0, 0, 0, time.UTC), ev.domain, ev.sending, ev.reporting, string(ev.res.Reason)}
		c := out[k]
		if c == nil {
			c = &repCount{first: ev.occurred, last: ev.occurred}
			out[k] = c
		}
		c.n++
		if ev.occurred.Before(c.first) {
			c.first = ev.occurred
		}
		if ev.occurred.After(c.last) {
			c.last = ev.occurred
		}
	}
	return out
}

func queueReputation(batch *pgx.Batch, rep map[repKey]*repCount) {
	keys := make([]repKey, 0, len(rep))
	for k := range rep {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b repKey) int {
		return cmp.Or(a.day.Compare(b.day), cmp.Compare(a.recipient, b.recipient), cmp.Compare(a.sending, b.sending),
			cmp.Compare(a.reporter, b.reporter), cmp.Compare(a.reason, b.reason))
	})
	n := len(keys)
	days, first, last := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	rcpt, send, mta, reason := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	counts := make([]int64, n)
	for i, k := range keys {
		c := rep[k]
		days[i], rcpt[i], send[i], mta[i], reason[i] = k.day, k.recipient, k.sending, k.reporter, k.reason
		counts[i], first[i], last[i] = c.n, c.first, c.last
	}
	batch.Queue(`
		INSERT INTO reputation_daily AS r (day, recipient_domain, sending_domain, reporting_mta, reason, bounces, first_seen, last_seen)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::timestamptz[])
		ON CONFLICT (day, recipient_domain, sending_domain, reporting_mta, reason) DO UPDATE SET
			bounces = r.bounces + excluded.bounces,
			first_seen = least(r.first_seen, excluded.first_seen),
			last_seen = greatest(r.last_seen, excluded.last_seen)`,
		days, rcpt, send, mta, reason, counts, first, last)
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
