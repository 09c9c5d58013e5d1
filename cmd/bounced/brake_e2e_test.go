package main

// End-to-end tests of the brake and of the lifted-address rule: forged and
// real DSNs delivered to the return-path mailbox through Dovecot's LMTP (as
// an MTA hands them over), then `bounced once` against the real Dovecot and
// PostgreSQL.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/jackc/pgx/v5"

	"github.com/bounced/bounced/config"
)

// dsnMessage returns an RFC 3464 report, as Postfix words it, addressed to
// the return path to, saying that every one of rcpts failed with 550 5.1.1.
// id makes the message (and its hash) unique.
func dsnMessage(to, id string, rcpts []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: Undelivered Mail Returned to Sender\r\n")
	fmt.Fprintf(&b, "Message-ID: <%s@mx.customer.example>\r\n", id)
	fmt.Fprintf(&b, "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n")
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B-%s\"\r\n\r\n", id)
	fmt.Fprintf(&b, "--B-%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", id)
	fmt.Fprintf(&b, "This is the mail system at host mx.customer.example.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n")
	fmt.Fprintf(&b, "--B-%s\r\nContent-Type: message/delivery-status\r\n\r\n", id)
	fmt.Fprintf(&b, "Reporting-MTA: dns; mx.customer.example\r\nArrival-Date: Sun, 06 Dec 2026 11:59:58 +0000\r\n")
	for _, r := range rcpts {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n", r, r)
	}
	fmt.Fprintf(&b, "\r\n--B-%s\r\nContent-Type: message/rfc822-headers\r\n\r\n", id)
	fmt.Fprintf(&b, "From: News <news@sender.example>\r\nTo: %s\r\nSubject: Our news\r\nMessage-ID: <orig-%s@sender.example>\r\n\r\n", rcpts[0], id)
	fmt.Fprintf(&b, "--B-%s--\r\n", id)
	return []byte(b.String())
}

// recipients returns n addresses of customer.example: prefix0@..., prefix1@...
func recipients(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d@customer.example", prefix, i)
	}
	return out
}

// mailbox is a test's own folder of the return-path mailbox, with the
// configuration of `bounced once` over it.
type mailbox struct {
	d      dovecotEnv
	lmtp   string
	folder string
	cfg    string
}

// newMailbox makes a folder and a configuration over it, with the extra
// [mailbox] settings given (the brake, say).
func newMailbox(t *testing.T, extra string) *mailbox {
	t.Helper()
	d := requireDovecot(t)
	m := &mailbox{d: d, lmtp: requireLMTP(t)}
	m.folder = newFolder(t, d, d.client(t), "brake")
	m.cfg = e2eConfig(t, d, m.folder, "", config.DispositionMove, 100)
	f, err := os.OpenFile(m.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return m
}

// deliver hands msg to Dovecot for the envelope recipient rcpt (a return
// path of the user, with or without a +TAG) and puts it in the test's
// folder. With LMTP it lands in INBOX, shared with every other test run, so
// it carries a header naming the folder and is moved there at once;
// without, it is APPENDed to the folder with the Delivered-To an MTA adds.
func (m *mailbox) deliver(t *testing.T, rcpt string, msg []byte) {
	t.Helper()
	c := m.d.client(t)
	if m.lmtp == "" {
		appendAll(t, c, m.folder, [][]byte{append([]byte("Delivered-To: "+rcpt+"\r\n"), msg...)})
		return
	}
	mark := "X-Bounced-Test-Folder: " + m.folder + "\r\n"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := lmtpDeliver(ctx, m.lmtp, "", []string{rcpt}, append([]byte(mark), msg...))
	if err != nil {
		t.Fatalf("delivering to %s by LMTP: %v", rcpt, err)
	}
	if res[0] != nil {
		t.Fatalf("delivering to %s by LMTP: %v", rcpt, res[0])
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("selecting INBOX: %v", err)
	}
	defer func() { c.Unselect().Wait() }()
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Bounced-Test-Folder", Value: m.folder}}}, nil).Wait()
	if err != nil {
		t.Fatalf("searching INBOX: %v", err)
	}
	uids := found.AllUIDs()
	if len(uids) != 1 {
		t.Fatalf("%d messages for %s in INBOX after one delivery, want 1", len(uids), m.folder)
	}
	if _, err := c.Move(imap.UIDSetNum(uids...), m.folder).Wait(); err != nil {
		t.Fatalf("moving the delivered message to %s: %v", m.folder, err)
	}
}

// once runs `bounced once` over the folder and returns its output and log.
func (m *mailbox) once(t *testing.T, db string) (stdout, log string) {
	t.Helper()
	code, out, errOut := once(t, m.cfg, db)
	if code != 0 {
		t.Fatalf("bounced once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, lastLines(errOut, 30))
	}
	if left := folderCount(t, m.d.client(t), m.folder); left != 0 {
		t.Fatalf("%d messages left in %s after bounced once", left, m.folder)
	}
	return out, errOut
}

// dbInt runs a query returning one integer against the test database.
func dbInt(t *testing.T, url, q string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestE2EForgedDSNHeld: one forged DSN naming 10,000 recipients, mailed to
// the return path, puts at most max_suppressions_per_message in force; the
// rest of what the parser reads is held, every result is recorded as an
// event, and the log says so once.
func TestE2EForgedDSNHeld(t *testing.T) {
	m := newMailbox(t, "") // the defaults: 100 per message, 5,000 per hour
	db := migratedDatabase(t)
	rcpts := recipients("victim", 10000)
	m.deliver(t, m.d.user+"@example.test", dsnMessage(m.d.user+"@example.test", "forged-"+rand.Text()[:8], rcpts))
	out, log := m.once(t, db)

	events := dbInt(t, db, `SELECT count(*) FROM bounce_events WHERE verdict = 'suppress'`)
	inForce := dbInt(t, db, `SELECT count(*) FROM current_suppressions`)
	held := dbInt(t, db, `SELECT count(*) FROM held_suppressions WHERE held_by = 'per_message' AND mailbox = 'e2e'`)
	t.Logf("10,000 recipients named: %d results read, %d in force, %d held", events, inForce, held)
	if events < 1000 {
		t.Fatalf("the parser read only %d of the 10,000 recipients", events)
	}
	if inForce != config.DefaultMaxSuppressionsPerMessage || held != events-inForce {
		t.Errorf("%d in force and %d held of %d results; want %d in force and the rest held",
			inForce, held, events, config.DefaultMaxSuppressionsPerMessage)
	}
	// In force are the first hundred the DSN names.
	if n := dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE address = ANY($1)`, rcpts[:100]); n != 100 {
		t.Errorf("%d of the first 100 recipients in force, want 100", n)
	}
	if n := dbInt(t, db, `SELECT count(DISTINCT evidence_authenticity) FROM held_suppressions WHERE evidence_authenticity = 'unsigned'`); n != 1 {
		t.Error("held suppressions lack their authenticity")
	}
	if c := strings.Count(log, "suppressions held by the brake"); c != 1 || !strings.Contains(log, "level=WARN") ||
		!strings.Contains(log, fmt.Sprintf("held_per_message=%d", held)) {
		t.Errorf("want one WARN line with held_per_message=%d, got %d:\n%s", held, c, lastLines(log, 10))
	}

	// Never a silent drop: the log says how many the parser did not keep.
	if want := fmt.Sprintf("recipients_dropped=%d", 10000-events); !strings.Contains(log, "more recipients than the parser keeps") ||
		!strings.Contains(log, want) {
		t.Errorf("the log does not say %s:\n%s", want, lastLines(log, 10))
	}
	if !strings.Contains(out, fmt.Sprintf("; %d new suppression(s) held by the brake", held)) {
		t.Errorf("the summary does not say how many were held: %s", out)
	}

	// The held ones can be listed and released by hand.
	code, out, errOut := runDB(t, "suppressions", "held", "--limit", "0", "--database-url", db)
	if rows := strings.Count(out, " per_message "); code != 0 || rows != held {
		t.Errorf("suppressions held: exit %d, %d rows, want %d: %s", code, rows, held, errOut)
	}
	code, out, errOut = runDB(t, "suppressions", "release", rcpts[150], "--reason", "checked", "--database-url", db)
	if code != 0 || dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE address = $1`, rcpts[150]) != 1 {
		t.Errorf("release: exit %d: %s %s", code, out, errOut)
	}
}

// TestE2EHourlyLimitAcrossPasses: the per-hour limit counts the
// suppressions every pass (every process) started within the hour.
func TestE2EHourlyLimitAcrossPasses(t *testing.T) {
	m := newMailbox(t, "max_suppressions_per_message = 50\nmax_suppressions_per_hour = 120\n")
	db := migratedDatabase(t)
	to := m.d.user + "@example.test"
	m.deliver(t, to, dsnMessage(to, "h1-"+rand.Text()[:8], recipients("first", 50)))
	m.deliver(t, to, dsnMessage(to, "h2-"+rand.Text()[:8], recipients("second", 60))) // 10 held per message
	m.once(t, db)
	if in, held := dbInt(t, db, `SELECT count(*) FROM current_suppressions`), dbInt(t, db, `SELECT count(*) FROM held_suppressions`); in != 100 || held != 10 {
		t.Fatalf("first pass: %d in force, %d held; want 100 and 10", in, held)
	}
	m.deliver(t, to, dsnMessage(to, "h3-"+rand.Text()[:8], recipients("third", 50)))
	_, log := m.once(t, db) // another process: only 20 left of the 120
	in := dbInt(t, db, `SELECT count(*) FROM current_suppressions`)
	perHour := dbInt(t, db, `SELECT count(*) FROM held_suppressions WHERE held_by = 'per_hour'`)
	if in != 120 || perHour != 30 {
		t.Errorf("second pass: %d in force, %d held per hour; want 120 and 30", in, perHour)
	}
	if !strings.Contains(log, "held_per_hour=30") {
		t.Errorf("the second pass does not log its 30 held per hour:\n%s", lastLines(log, 10))
	}
	// A renewal is never held: the first 50 bounce again.
	m.deliver(t, to, dsnMessage(to, "h4-"+rand.Text()[:8], recipients("first", 50)))
	m.once(t, db)
	if n := dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE bounce_count = 2`); n != 50 {
		t.Errorf("%d suppressions renewed, want 50", n)
	}
	if n := dbInt(t, db, `SELECT count(*) FROM held_suppressions`); n != 40 {
		t.Errorf("%d held after renewals, want still 40", n)
	}
}

// TestE2ELiftedNotResuppressedByUnsignedBounce: an address lifted by hand
// stays lifted when a new unsigned bounce names it.
func TestE2ELiftedNotResuppressedByUnsignedBounce(t *testing.T) {
	m := newMailbox(t, "")
	db := migratedDatabase(t)
	to := m.d.user + "@example.test"
	alice := "alice@customer.example"
	m.deliver(t, to, dsnMessage(to, "l1-"+rand.Text()[:8], []string{alice}))
	m.once(t, db)
	if n := dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE address = $1`, alice); n != 1 {
		t.Fatalf("alice not suppressed by the first bounce")
	}
	if code, _, errOut := runDB(t, "suppressions", "remove", alice, "--reason", "confirmed by phone", "--database-url", db); code != 0 {
		t.Fatalf("remove: exit %d: %s", code, errOut)
	}
	time.Sleep(10 * time.Millisecond) // the new bounce arrives after the lift
	m.deliver(t, to, dsnMessage(to, "l2-"+rand.Text()[:8], []string{alice}))
	_, log := m.once(t, db)
	if n := dbInt(t, db, `SELECT count(*) FROM current_suppressions WHERE address = $1`, alice); n != 0 {
		t.Errorf("an unsigned bounce suppressed a lifted address again")
	}
	if n := dbInt(t, db, `SELECT count(*) FROM bounce_events WHERE recipient = $1 AND authenticity = 'unsigned'`, alice); n != 2 {
		t.Errorf("%d unsigned events of alice, want both bounces kept as evidence", n)
	}
	if !strings.Contains(log, "stay lifted") {
		t.Errorf("the pass does not say the lifted address stays lifted:\n%s", lastLines(log, 10))
	}
}
