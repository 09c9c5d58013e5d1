package store

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bounced/bounced/dsn"
	"github.com/jackc/pgx/v5"
)

// Limits is the brake of one mailbox (DESIGN.md, "Authenticity"): how many
// new suppressions its bounces may put in force. Beyond a limit a new
// suppression is held (see HeldSuppression) instead; renewals of a
// suppression in force are never held. Zero turns a limit off.
type Limits struct {
	// PerMessage bounds the new suppressions one bounce message may start.
	PerMessage int
	// PerHour bounds the new suppressions the mailbox's batches may start
	// within any hour. It is counted in PostgreSQL, so it holds across
	// replicas and restarts.
	PerHour int
}

// Held says which limit held a suppression.
type Held string

// The limits that hold.
const (
	HeldPerMessage Held = "per_message"
	HeldPerHour    Held = "per_hour"
)

// brakeWindow is the window of Limits.PerHour.
const brakeWindow = time.Hour

// startsKept is how long suppression_starts keeps its rows: more than
// brakeWindow, for an operator wondering what the brake counted.
const startsKept = 24 * time.Hour

// addrState is what the database holds about one address that a batch is
// about to suppress.
type addrState struct {
	exists   bool
	inForce  bool
	liftedAt *time.Time // set while lifted by hand
	held     bool       // a held suppression is waiting for release
}

// braked is what the brake made of a batch's suppressions.
type braked struct {
	apply      []*suppression // to put in force: renewals, and new ones within the limits
	started    int            // the new ones among apply
	held       []heldRow      // the new ones beyond a limit, by key
	unheld     []string       // keys of held suppressions now put in force: their held rows go
	liftedKept int            // lifted by hand and named only by unverified bounces: left lifted
	perMessage int            // held by the per-message limit
	perHour    int            // held by the per-hour limit
}

// heldRow is one suppression held by a limit.
type heldRow struct {
	sp *suppression
	by Held
}

// brake sorts the batch's suppressions (sorted by key) into those put in
// force and those held, given the state of their addresses, the mailbox's
// limits and the suppressions its batches started within the last hour.
//
// A renewal of a suppression in force always passes. An address lifted by
// hand is suppressed again only by a verified bounce seen after the lift.
// The new suppressions are taken in the order of their first bounce in the
// batch: each message may start limits.PerMessage of them, and the mailbox
// limits.PerHour less those already started within the hour.
func brake(sups []*suppression, state map[string]addrState, limits Limits, startedInHour int) braked {
	var b braked
	var fresh []*suppression
	for _, sp := range sups {
		st := state[sp.key]
		switch {
		case st.inForce:
			b.apply = append(b.apply, sp)
		case st.liftedAt != nil && !sp.verified.After(*st.liftedAt):
			b.liftedKept++
		default:
			fresh = append(fresh, sp)
		}
	}
	slices.SortStableFunc(fresh, func(x, y *suppression) int { return cmp.Compare(x.order, y.order) })
	perMessage := map[uint32]int{}
	budget := -1 // no hourly limit
	if limits.PerHour > 0 {
		budget = max(limits.PerHour-startedInHour, 0)
	}
	for _, sp := range fresh {
		switch {
		case limits.PerMessage > 0 && perMessage[sp.uid] >= limits.PerMessage:
			b.held = append(b.held, heldRow{sp, HeldPerMessage})
			b.perMessage++
			continue
		case budget == 0:
			b.held = append(b.held, heldRow{sp, HeldPerHour})
			b.perHour++
			continue
		}
		perMessage[sp.uid]++
		if budget > 0 {
			budget--
		}
		b.apply = append(b.apply, sp)
		b.started++
		if state[sp.key].held {
			b.unheld = append(b.unheld, sp.key)
		}
	}
	slices.SortFunc(b.apply, func(x, y *suppression) int { return cmp.Compare(x.key, y.key) })
	slices.SortFunc(b.held, func(x, y heldRow) int { return cmp.Compare(x.sp.key, y.sp.key) })
	return b
}

// candidateKeys returns the lower-cased addresses that events might
// suppress, sorted: those with the verdict suppress or soft.
func candidateKeys(events []event) []string {
	seen := map[string]bool{}
	var keys []string
	for _, ev := range events {
		if ev.address == "" || (ev.res.Verdict != dsn.VerdictSuppress && ev.res.Verdict != dsn.VerdictSoft) {
			continue
		}
		k := strings.ToLower(ev.address)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// queueAddressState queues the queries readAddressState reads: the state of
// the addresses keys and the suppressions the mailbox started within
// brakeWindow of now. The rows are not locked (FOR UPDATE would write every
// one twice: a third fewer renewals per second in BenchmarkWriteBatch): a
// concurrent change can only make the brake count a renewal as new (held
// at worst, released by hand) or make the upsert skip a start (its WHERE
// keeps an address lifted when the lift came after the bounce).
func queueAddressState(batch *pgx.Batch, mailbox string, keys []string, now time.Time) {
	batch.Queue(`
		SELECT lower(address), `+inForceAt+`, lifted_at FROM suppressions
		WHERE lower(address) = ANY($2::text[])`, now, keys)
	batch.Queue(`SELECT lower(address) FROM held_suppressions WHERE lower(address) = ANY($1::text[])`, keys)
	batch.Queue(`SELECT coalesce(sum(started), 0) FROM suppression_starts WHERE mailbox = $1 AND at > $2`,
		mailbox, now.Add(-brakeWindow))
}

// readAddressState reads the results of queueAddressState.
func readAddressState(br pgx.BatchResults) (map[string]addrState, int, error) {
	state := map[string]addrState{}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, fmt.Errorf("reading suppression state: %w", err)
	}
	for rows.Next() {
		var key string
		var st addrState
		if err := rows.Scan(&key, &st.inForce, &st.liftedAt); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("reading suppression state: %w", err)
		}
		st.exists = true
		state[key] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading suppression state: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, 0, fmt.Errorf("reading held suppressions: %w", err)
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("reading held suppressions: %w", err)
		}
		st := state[key]
		st.held = true
		state[key] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading held suppressions: %w", err)
	}
	var started int
	if err := br.QueryRow().Scan(&started); err != nil {
		return nil, 0, fmt.Errorf("counting suppressions started within the hour: %w", err)
	}
	return state, started, nil
}

// upsertHeld records suppressions held by the brake. An address already
// held keeps its row, when it was held, and counts the new bounces.
const upsertHeld = `
	INSERT INTO held_suppressions AS h (address, mailbox, reason, scope, first_seen, last_seen, bounce_count,
		expires_at, evidence_message_id, evidence_status, evidence_diagnostic, evidence_authenticity,
		bounce_message_id, held_by, held_at, updated_at)
	SELECT u.address, $2, u.reason, u.scope, u.first_seen, u.last_seen, u.n, u.expires_at, u.message_id, u.status,
		u.diagnostic, u.authenticity, u.bounce_message_id, u.held_by, $1, $1
	FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::integer[],
		$9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
		AS u(address, reason, scope, first_seen, last_seen, n, expires_at, message_id, status, diagnostic,
			authenticity, bounce_message_id, held_by)
	ORDER BY lower(u.address)
	ON CONFLICT ((lower(address))) DO UPDATE SET
		address = excluded.address,
		mailbox = excluded.mailbox,
		reason = excluded.reason,
		scope = excluded.scope,
		first_seen = least(h.first_seen, excluded.first_seen),
		last_seen = greatest(h.last_seen, excluded.last_seen),
		bounce_count = h.bounce_count + excluded.bounce_count,
		expires_at = CASE WHEN h.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
			ELSE greatest(h.expires_at, excluded.expires_at) END,
		evidence_message_id = excluded.evidence_message_id,
		evidence_status = excluded.evidence_status,
		evidence_diagnostic = excluded.evidence_diagnostic,
		evidence_authenticity = excluded.evidence_authenticity,
		bounce_message_id = excluded.bounce_message_id,
		held_by = excluded.held_by,
		updated_at = excluded.updated_at`

func queueHeld(batch *pgx.Batch, mailbox string, held []heldRow, now time.Time) {
	n := len(held)
	addr, reason, scope := make([]string, n), make([]string, n), make([]string, n)
	first, last := make([]time.Time, n), make([]time.Time, n)
	count := make([]int32, n)
	expires := make([]*time.Time, n)
	msgID, status, diag, auth, bounceID, by := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	for i, h := range held {
		sp := h.sp
		addr[i], reason[i], scope[i] = sp.address, sp.reason, sp.scope
		first[i], last[i], count[i], expires[i] = sp.first, sp.last, int32(sp.start), sp.expires
		msgID[i], status[i], diag[i], auth[i], bounceID[i], by[i] = sp.messageID, sp.status, sp.diag, sp.auth, sp.bounceID, string(h.by)
	}
	batch.Queue(upsertHeld, now, mailbox, addr, reason, scope, first, last, count, expires, msgID, status, diag,
		auth, bounceID, by)
}

// queueStarts records the suppressions a batch of mailbox started, for the
// per-hour limit, and forgets those older than startsKept.
func queueStarts(batch *pgx.Batch, mailbox string, started int, now time.Time) {
	batch.Queue(`
		WITH gone AS (DELETE FROM suppression_starts WHERE mailbox = $1 AND at < $4)
		INSERT INTO suppression_starts (mailbox, at, started) VALUES ($1, $2, $3)`,
		mailbox, now, started, now.Add(-startsKept))
}
