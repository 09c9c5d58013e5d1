package main

// End-to-end and fault tests: the real Dovecot of .ci/dovecot.sh, the real
// PostgreSQL of TEST_DATABASE_URL, the real parser, and `bounced once` run
// in-process (or as a subprocess where a process must die). Each test uses
// its own folders (e2e-<random>, deleted at the end) and its own database.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/bounced/bounced/internal/testenv"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
	"github.com/bounced/bounced/store/storetest"
)

// e2ePasswordEnv names the variable the generated configurations take the
// IMAP password from.
const e2ePasswordEnv = "BOUNCED_E2E_IMAP_PASSWORD"

// dovecotEnv is the Dovecot started by .ci/dovecot.sh.
type dovecotEnv struct {
	addr, tlsAddr, user, password, ca string
}

// requireDovecot returns the Dovecot variables, or skips the test (fails it
// with CI=true) when any is missing.
func requireDovecot(t testing.TB) dovecotEnv {
	t.Helper()
	names := []string{"TEST_IMAP_ADDR", "TEST_IMAPS_ADDR", "TEST_IMAP_USER", "TEST_IMAP_PASSWORD", "TEST_IMAP_CA"}
	v := make([]string, len(names))
	var missing []string
	for i, n := range names {
		if v[i] = os.Getenv(n); v[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s unset: .ci/dovecot.sh should have exported it", strings.Join(missing, ", "))
		}
		t.Skipf("%s unset; run `. .ci/dovecot.sh` to test against Dovecot", strings.Join(missing, ", "))
	}
	return dovecotEnv{addr: v[0], tlsAddr: v[1], user: v[2], password: v[3], ca: v[4]}
}

// client logs in to Dovecot over STARTTLS; the connection is closed when
// the test ends.
func (d dovecotEnv) client(t testing.TB) *imapclient.Client {
	t.Helper()
	pool, err := config.LoadCAFile(d.ca)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialStartTLS(d.addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("connecting to Dovecot: %v", err)
	}
	if err := c.Login(d.user, d.password).Wait(); err != nil {
		t.Fatalf("logging in to Dovecot: %v", err)
	}
	t.Cleanup(func() { c.Logout().Wait(); c.Close() })
	return c
}

// newFolder creates a uniquely named folder and deletes it, with the
// Processed and Unrecognized folders bounced creates beside it, when the
// test ends.
func newFolder(t testing.TB, d dovecotEnv, c *imapclient.Client, prefix string) string {
	t.Helper()
	folder := fmt.Sprintf("%s-%s", prefix, rand.Text()[:10])
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatalf("creating %s: %v", folder, err)
	}
	t.Cleanup(func() {
		// A fresh connection: the test's own may be closed already.
		cc := d.client(t)
		for _, f := range []string{folder, folder + "-Processed", folder + "-Unrecognized"} {
			cc.Delete(f).Wait() // absent folders are fine
		}
	})
	return folder
}

// appendAll APPENDs msgs to folder, keeping up to 100 commands in flight
// (Dovecot has LITERAL+, so no continuation is awaited).
func appendAll(t testing.TB, c *imapclient.Client, folder string, msgs [][]byte) {
	t.Helper()
	var pending []*imapclient.AppendCommand
	flush := func() {
		for _, cmd := range pending {
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("appending to %s: %v", folder, err)
			}
		}
		pending = pending[:0]
	}
	for _, m := range msgs {
		cmd := c.Append(folder, int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			t.Fatalf("appending to %s: %v", folder, err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("appending to %s: %v", folder, err)
		}
		if pending = append(pending, cmd); len(pending) == 100 {
			flush()
		}
	}
	flush()
}

// folderHashes returns the SHA-256 of every message in folder, with its
// multiplicity; nil when the folder does not exist.
func folderHashes(t testing.TB, c *imapclient.Client, folder string) map[[32]byte]int {
	t.Helper()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil
		}
		t.Fatalf("selecting %s: %v", folder, err)
	}
	out := map[[32]byte]int{}
	if sel.NumMessages > 0 {
		var all imap.SeqSet
		all.AddRange(1, 0)
		section := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatalf("fetching %s: %v", folder, err)
		}
		for _, b := range bufs {
			out[sha256.Sum256(b.FindBodySection(section))]++
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("unselecting %s: %v", folder, err)
	}
	return out
}

// folderCount returns how many messages folder holds (0 when it does not
// exist).
func folderCount(t testing.TB, c *imapclient.Client, folder string) int {
	t.Helper()
	data, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return 0
		}
		t.Fatalf("status of %s: %v", folder, err)
	}
	return int(*data.NumMessages)
}

// uidValidity returns folder's UIDVALIDITY.
func uidValidity(t testing.TB, c *imapclient.Client, folder string) uint32 {
	t.Helper()
	data, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatalf("status of %s: %v", folder, err)
	}
	return data.UIDValidity
}

func count(m map[[32]byte]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// corpusMessage is one corpus file as appended (line ends made CRLF) and
// what the parser makes of exactly those bytes.
type corpusMessage struct {
	name string
	data []byte
	hash [32]byte
	rep  *dsn.Report
	err  error
}

// kept reports whether bounced keeps the message in the unrecognized
// folder: the parser failed or did not recognise it.
func (m corpusMessage) kept() bool {
	return m.err != nil || m.rep == nil || m.rep.Kind == dsn.KindUnrecognized || m.rep.Kind == ""
}

// corpusDir returns ../shared/corpus/<sub> beside the module (BOUNCED_CORPUS
// overrides the corpus root), or skips; with CI=true a missing corpus fails.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	return testenv.Corpus(t, sub)
}

// loadCorpus reads every .eml of dir, in name order, and parses it as the
// watcher would.
func loadCorpus(t testing.TB, dir string) []corpusMessage {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .eml in %s: %v", dir, err)
	}
	slices.Sort(paths)
	out := make([]corpusMessage, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data := crlf(raw)
		m := corpusMessage{name: filepath.Base(p), data: data, hash: sha256.Sum256(data)}
		m.rep, m.err = dsn.Parse(bytes.NewReader(data), dsn.Options{MaxSize: config.DefaultMaxSize})
		out = append(out, m)
	}
	return out
}

// crlf returns b with every line ending CRLF, as IMAP wants.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// appendCorpus APPENDs msgs to folder and returns them as Dovecot serves
// them, hashed and parsed again: Dovecot changes some bytes on the way in (a
// NUL becomes 0x80), and bounced sees only what it serves.
func appendCorpus(t testing.TB, c *imapclient.Client, folder string, msgs []corpusMessage) []corpusMessage {
	t.Helper()
	appendAll(t, c, folder, datas(msgs))
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("selecting %s: %v", folder, err)
	}
	defer func() { c.Unselect().Wait() }()
	var all imap.UIDSet
	all.AddRange(1, 0)
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("fetching %s: %v", folder, err)
	}
	if len(bufs) != len(msgs) {
		t.Fatalf("%s holds %d messages after appending %d", folder, len(bufs), len(msgs))
	}
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	out := make([]corpusMessage, len(msgs))
	for i, b := range bufs {
		data := b.FindBodySection(section)
		m := corpusMessage{name: msgs[i].name, data: data, hash: sha256.Sum256(data)}
		m.rep, m.err = dsn.Parse(bytes.NewReader(data), dsn.Options{MaxSize: config.DefaultMaxSize})
		out[i] = m
	}
	return out
}

func datas(msgs []corpusMessage) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m.data
	}
	return out
}

// e2eConfig writes a configuration with one mailbox "e2e" on folder. addr
// "" means Dovecot's implicit TLS port; any other address is reached in
// plaintext (a loopback proxy).
func e2eConfig(t testing.TB, d dovecotEnv, folder, addr string, disposition config.Disposition, batch int) string {
	t.Helper()
	t.Setenv(e2ePasswordEnv, d.password)
	conn := fmt.Sprintf("address = %s\ntls = implicit\nca_file = %s\n", d.tlsAddr, d.ca)
	if addr != "" {
		conn = fmt.Sprintf("address = %s\ntls = none\n", addr)
	}
	text := fmt.Sprintf(`log_level = debug
[mailbox e2e]
%susername = %s
password_env = %s
folder = %s
schedule = @every 1h
batch_size = %d
timeout = 10s
disposition = %s
processed_folder = %s-Processed
unrecognized_folder = %s-Unrecognized
`, conn, d.user, e2ePasswordEnv, folder, batch, disposition, folder, folder)
	p := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// migratedDatabase returns the URL of a fresh database migrated by
// `bounced migrate`.
func migratedDatabase(t testing.TB) string {
	t.Helper()
	url := storetest.NewDatabase(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--database-url", url}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("bounced migrate: exit %d\n%s%s", code, out.String(), errb.String())
	}
	return url
}

// once runs `bounced once` in-process against the database at dbURL.
func once(t *testing.T, cfg, dbURL string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runCmd(ctx, append([]string{"once", "-config", cfg}, extra...)...)
}

// mustOnce runs `bounced once` and fails the test unless it exits 0.
func mustOnce(t *testing.T, cfg, dbURL string) string {
	t.Helper()
	code, out, errOut := once(t, cfg, dbURL)
	if code != 0 {
		t.Fatalf("bounced once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, lastLines(errOut, 30))
	}
	return out
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// snapshot is what the database holds, without times or mailbox names, so
// that two runs over the same messages can be compared.
type snapshot struct {
	Ledger       map[string]int // outcome: messages
	Events       []string       // kind|recipient|reason|verdict|status, sorted
	Suppressions []string       // lower(address)|reason|bounce_count|permanent, sorted
	Soft         []string       // lower(address)|soft bounces counted, sorted
	Reputation   []string       // recipient domain|sending domain|reporting MTA|reason|incidents, sorted
}

func takeSnapshot(t testing.TB, url string) snapshot {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(ctx)
	strs := func(q string) []string {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		slices.Sort(out)
		return out
	}
	s := snapshot{Ledger: map[string]int{}}
	for _, row := range strs(`SELECT outcome || '|' || count(*) FROM processed_messages GROUP BY outcome`) {
		var outcome string
		var n int
		if _, err := fmt.Sscanf(strings.Replace(row, "|", " ", 1), "%s %d", &outcome, &n); err != nil {
			t.Fatalf("ledger row %q: %v", row, err)
		}
		s.Ledger[outcome] = n
	}
	s.Events = strs(`SELECT concat_ws('|', kind, recipient, reason, verdict, status) FROM bounce_events`)
	s.Suppressions = strs(`SELECT concat_ws('|', lower(address), reason, bounce_count, expires_at IS NULL) FROM suppressions`)
	s.Soft = strs(`SELECT concat_ws('|', lower(address), cardinality(bounce_times)) FROM soft_bounces`)
	s.Reputation = strs(`SELECT concat_ws('|', recipient_domain, sending_domain, reporting_mta, reason, incidents) FROM reputation_daily`)
	return s
}

// diffSnapshots reports how got differs from want, or "".
func diffSnapshots(got, want snapshot) string {
	var b strings.Builder
	for k := range mergeKeys(got.Ledger, want.Ledger) {
		if got.Ledger[k] != want.Ledger[k] {
			fmt.Fprintf(&b, "ledger %s: %d, want %d\n", k, got.Ledger[k], want.Ledger[k])
		}
	}
	diffList(&b, "events", got.Events, want.Events)
	diffList(&b, "suppressions", got.Suppressions, want.Suppressions)
	diffList(&b, "soft bounces", got.Soft, want.Soft)
	diffList(&b, "reputation", got.Reputation, want.Reputation)
	return b.String()
}

func mergeKeys(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// diffList reports the lines of two sorted multisets that differ (the
// first few of each side).
func diffList(b *strings.Builder, what string, got, want []string) {
	extra, missing := multisetDiff(got, want), multisetDiff(want, got)
	if len(extra) == 0 && len(missing) == 0 {
		return
	}
	fmt.Fprintf(b, "%s: %d rows, want %d; unexpected %q; missing %q\n", what, len(got), len(want), extra[:min(5, len(extra))], missing[:min(5, len(missing))])
}

// multisetDiff returns the elements of a not matched in b.
func multisetDiff(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	var out []string
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// expectation is what a clean pass over msgs must leave in the database and
// the folders, computed from the parser alone.
type expectation struct {
	distinct     int              // messages with distinct content: ledger rows
	kept         map[[32]byte]int // content that must land in the unrecognized folder, with multiplicity
	processed    map[[32]byte]int // content that must land in the processed folder
	keptDistinct int
	events       []string
	suppressed   []string // lower-cased addresses
	alertOnly    []string // addresses whose every result has the verdict alert
}

func expect(msgs []corpusMessage) expectation {
	e := expectation{kept: map[[32]byte]int{}, processed: map[[32]byte]int{}}
	seen := map[[32]byte]bool{}
	soft := map[string]int{}
	suppress := map[string]bool{}
	verdicts := map[string]map[dsn.Verdict]bool{}
	for _, m := range msgs {
		if m.kept() {
			e.kept[m.hash]++
		} else {
			e.processed[m.hash]++
		}
		if seen[m.hash] {
			continue // the ledger's content hash skips it
		}
		seen[m.hash] = true
		e.distinct++
		if m.kept() {
			e.keptDistinct++
			continue
		}
		for _, r := range m.rep.Results() {
			kind, reason, verdict := r.Kind, r.Reason, r.Verdict
			if kind == "" {
				kind = dsn.KindUnrecognized
			}
			if reason == "" {
				reason = dsn.ReasonUnknown
			}
			if verdict == "" {
				verdict = dsn.VerdictIgnore
			}
			rcpt := r.Recipient
			addr, _, ok := store.NormalizeAddress(r.Recipient)
			if ok {
				rcpt = addr
			}
			e.events = append(e.events, strings.Join([]string{string(kind), rcpt, string(reason), string(verdict), r.Status}, "|"))
			if !ok {
				continue
			}
			key := strings.ToLower(addr)
			if verdicts[key] == nil {
				verdicts[key] = map[dsn.Verdict]bool{}
			}
			verdicts[key][verdict] = true
			switch verdict {
			case dsn.VerdictSuppress:
				suppress[key] = true
			case dsn.VerdictSoft:
				// Everything arrives within seconds: inside the window.
				if soft[key]++; soft[key] >= store.DefaultPolicy.SoftThreshold {
					suppress[key] = true
				}
			}
		}
	}
	slices.Sort(e.events)
	for a := range suppress {
		e.suppressed = append(e.suppressed, a)
	}
	slices.Sort(e.suppressed)
	for a, v := range verdicts {
		if len(v) == 1 && v[dsn.VerdictAlert] {
			e.alertOnly = append(e.alertOnly, a)
		}
	}
	return e
}

// suppressedAddresses returns the first field of each suppression row.
func suppressedAddresses(s snapshot) []string {
	out := make([]string, len(s.Suppressions))
	for i, row := range s.Suppressions {
		out[i], _, _ = strings.Cut(row, "|")
	}
	slices.Sort(out)
	return out
}

// checkCleanRun asserts everything a complete pass over msgs must leave
// behind: the source folder empty, each message in the right folder, and the
// database holding exactly what the parser says.
func checkCleanRun(t *testing.T, c *imapclient.Client, folder string, msgs []corpusMessage, s snapshot) {
	t.Helper()
	e := expect(msgs)
	if n := folderCount(t, c, folder); n != 0 {
		t.Errorf("%s still holds %d message(s), want 0", folder, n)
	}
	if got := folderHashes(t, c, folder+"-Unrecognized"); !mapsEqual(got, e.kept) {
		t.Errorf("%s-Unrecognized holds %d message(s), want exactly the %d the parser does not recognise", folder, count(got), count(e.kept))
	}
	if got := folderHashes(t, c, folder+"-Processed"); !mapsEqual(got, e.processed) {
		t.Errorf("%s-Processed holds %d message(s), want exactly the %d the parser recognises; differing: %s", folder, count(got), count(e.processed), differing(msgs, got, e.processed))
	}
	ledger := 0
	for _, n := range s.Ledger {
		ledger += n
	}
	if ledger != e.distinct {
		t.Errorf("ledger holds %d rows, want %d (one per distinct message)", ledger, e.distinct)
	}
	if got := s.Ledger["unrecognized"] + s.Ledger["failed"]; got != e.keptDistinct {
		t.Errorf("ledger holds %d unrecognized or failed, want %d", got, e.keptDistinct)
	}
	var b strings.Builder
	diffList(&b, "bounce events", s.Events, e.events)
	diffList(&b, "suppressed addresses", suppressedAddresses(s), e.suppressed)
	if b.Len() > 0 {
		t.Error(b.String())
	}
	for _, a := range e.alertOnly {
		if slices.Contains(suppressedAddresses(s), a) {
			t.Errorf("%s is suppressed, but its only verdict is alert", a)
		}
	}
}

// differing names the messages whose count in got differs from want.
func differing(msgs []corpusMessage, got, want map[[32]byte]int) string {
	var names []string
	for _, m := range msgs {
		if got[m.hash] != want[m.hash] {
			names = append(names, fmt.Sprintf("%s (%d, want %d)", m.name, got[m.hash], want[m.hash]))
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("%d contents not from the corpus", len(got)-len(want))
	}
	return strings.Join(names[:min(5, len(names))], ", ")
}

func mapsEqual(a, b map[[32]byte]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestE2ECorpus appends every corpus message to a fresh Dovecot folder, runs
// `bounced once` with the move disposition against a freshly migrated
// database, and checks the folders and the database against what dsn.Parse
// says about the same bytes.
func TestE2ECorpus(t *testing.T) {
	d := requireDovecot(t)
	for _, sub := range []string{"emails", filepath.Join("rig", "emails")} {
		t.Run(strings.ReplaceAll(sub, "/", "-"), func(t *testing.T) {
			policy, soft3, soft2, alert, hard := policyMessages(t)
			msgs := append(loadCorpus(t, corpusDir(t, sub)), policy...)
			c := d.client(t)
			folder := newFolder(t, d, c, "e2e")
			msgs = appendCorpus(t, c, folder, msgs)
			db := migratedDatabase(t)
			out := mustOnce(t, e2eConfig(t, d, folder, "", config.DispositionMove, 100), db)
			e := expect(msgs)
			// Messages with the same content as one before are counted as
			// already recorded only, not as processed as well.
			want := fmt.Sprintf("e2e: %d message(s): %d processed, %d unrecognized, 0 failed, ", len(msgs), len(e.processed), len(e.kept))
			if !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("%d already recorded", len(msgs)-e.distinct)) {
				t.Errorf("stdout %q, want %q… and %d already recorded", out, want, len(msgs)-e.distinct)
			}
			s := takeSnapshot(t, db)
			checkCleanRun(t, c, folder, msgs, s)
			// The policy spelled out (checkCleanRun compared the whole
			// list with the parser's verdicts already).
			for addr, want := range map[string]string{soft3: "mailbox_full|3|f", soft2: "", alert: "", hard: "user_unknown|1|t"} {
				var got string
				for _, row := range s.Suppressions {
					if a, rest, _ := strings.Cut(row, "|"); a == addr {
						got = rest
					}
				}
				if got != want {
					t.Errorf("suppression of %s: %q, want %q (reason|count|permanent t/f)", addr, got, want)
				}
			}
			if len(s.Suppressions) == 0 || len(s.Events) == 0 || len(s.Reputation) == 0 {
				t.Errorf("suspiciously little recorded: %d events, %d suppressions, %d reputation rows", len(s.Events), len(s.Suppressions), len(s.Reputation))
			}
			// A second pass finds nothing and changes nothing.
			if out := mustOnce(t, e2eConfig(t, d, folder, "", config.DispositionMove, 100), db); !strings.Contains(out, "e2e: 0 message(s)") {
				t.Errorf("second pass: %q", out)
			}
			if diff := diffSnapshots(takeSnapshot(t, db), s); diff != "" {
				t.Errorf("an empty second pass changed the database:\n%s", diff)
			}
		})
	}
}

// baseline is the database a clean run over the emails corpus leaves
// behind, computed once per test binary.
var baseline struct {
	sync.Mutex
	s *snapshot
}

func baselineSnapshot(t *testing.T, d dovecotEnv, msgs []corpusMessage) snapshot {
	t.Helper()
	baseline.Lock()
	defer baseline.Unlock()
	if baseline.s == nil {
		c := d.client(t)
		folder := newFolder(t, d, c, "e2e-baseline")
		msgs = appendCorpus(t, c, folder, msgs)
		db := migratedDatabase(t)
		mustOnce(t, e2eConfig(t, d, folder, "", config.DispositionMove, 100), db)
		s := takeSnapshot(t, db)
		checkCleanRun(t, c, folder, msgs, s)
		baseline.s = &s
	}
	return *baseline.s
}

// TestE2EKilledBetweenCommitAndMove kills a real bounced process right after
// its first batch committed and before anything was moved, then runs again:
// nothing is lost and nothing counted twice.
func TestE2EKilledBetweenCommitAndMove(t *testing.T) {
	d := requireDovecot(t)
	msgs := loadCorpus(t, corpusDir(t, "emails"))
	want := baselineSnapshot(t, d, msgs)

	bin := filepath.Join(t.TempDir(), "bounced-faultinject")
	build := exec.Command("go", "build", "-tags", "faultinject", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags faultinject: %v\n%s", err, out)
	}

	c := d.client(t)
	folder := newFolder(t, d, c, "e2e-kill")
	msgs = appendCorpus(t, c, folder, msgs)
	db := migratedDatabase(t)
	const batch = 100
	cfg := e2eConfig(t, d, folder, "", config.DispositionMove, batch)

	cmd := exec.Command(bin, "once", "-config", cfg)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "BOUNCED_FAULT=exit-after-commit")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 137 {
		t.Fatalf("the fault-injected bounced: %v, want exit status 137\n%s", err, lastLines(stderr.String(), 20))
	}
	// The first batch committed, nothing was moved.
	if s := takeSnapshot(t, db); s.Ledger["processed"]+s.Ledger["unrecognized"]+s.Ledger["failed"] == 0 {
		t.Fatalf("nothing committed before the crash: %+v", s.Ledger)
	} else if n := s.Ledger["processed"] + s.Ledger["unrecognized"] + s.Ledger["failed"]; n > batch {
		t.Errorf("%d messages committed before the crash, want at most one batch (%d)", n, batch)
	}
	t.Logf("killed after the first commit: %s", lastLines(stderr.String(), 2))
	if n := folderCount(t, c, folder); n != len(msgs) {
		t.Errorf("%s holds %d after the crash, want all %d", folder, n, len(msgs))
	}
	if n := folderCount(t, c, folder+"-Processed") + folderCount(t, c, folder+"-Unrecognized"); n != 0 {
		t.Errorf("%d message(s) moved before the crash, want 0", n)
	}

	out := mustOnce(t, cfg, db)
	if !strings.Contains(out, fmt.Sprintf("e2e: %d message(s)", len(msgs))) {
		t.Errorf("second run: %q, want every message read again", out)
	}
	s := takeSnapshot(t, db)
	if diff := diffSnapshots(s, want); diff != "" {
		t.Errorf("after the crash and a second run the database differs from a clean run's:\n%s", diff)
	}
	checkCleanRun(t, c, folder, msgs, s)
}

// pgProxy is a TCP proxy in front of PostgreSQL that can be stopped (listener
// and every connection closed) and started again on the same address, and
// can stop itself when the client sends a given string.
type pgProxy struct {
	t      *testing.T
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   []net.Conn
	trigger string // stop when a client sends this; "" never
	tripped bool
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	p := &pgProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				down.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, down, up)
			p.mu.Unlock()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := down.Read(buf)
					if n > 0 {
						p.mu.Lock()
						trip := p.trigger != "" && bytes.Contains(buf[:n], []byte(p.trigger))
						p.mu.Unlock()
						if trip {
							p.mu.Lock()
							p.tripped = true
							p.mu.Unlock()
							p.stop()
							return
						}
						if _, err := up.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						up.Close()
						return
					}
				}
			}()
			go func() { io.Copy(down, up); down.Close() }()
		}
	}()
}

// stop closes the listener and every connection: the database is gone.
func (p *pgProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// start listens again on the same address.
func (p *pgProxy) start() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("restarting the PostgreSQL proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// url returns dbURL pointed at the proxy.
func (p *pgProxy) url(t *testing.T, dbURL string) string {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(p.addr)
	return fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=disable&connect_timeout=5", cfg.User, host, port, cfg.Database)
}

// TestE2EDatabaseDown runs passes while PostgreSQL is unreachable: at start
// (the store cannot be opened) and in the middle of the first batch's
// transaction. Nothing is moved, `once` exits 1 with an error naming the
// database, and once PostgreSQL is back the next pass records and moves
// everything exactly once.
func TestE2EDatabaseDown(t *testing.T) {
	d := requireDovecot(t)
	msgs := loadCorpus(t, corpusDir(t, "emails"))
	want := baselineSnapshot(t, d, msgs)

	c := d.client(t)
	folder := newFolder(t, d, c, "e2e-pgdown")
	msgs = appendCorpus(t, c, folder, msgs)
	db := migratedDatabase(t)
	target, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, net.JoinHostPort(target.Host, fmt.Sprint(target.Port)))
	viaProxy := proxy.url(t, db)
	cfg := e2eConfig(t, d, folder, "", config.DispositionMove, 100)
	untouched := func(when string) {
		t.Helper()
		if n := folderCount(t, c, folder); n != len(msgs) {
			t.Errorf("%s: %s holds %d, want all %d", when, folder, n, len(msgs))
		}
		if n := folderCount(t, c, folder+"-Processed") + folderCount(t, c, folder+"-Unrecognized"); n != 0 {
			t.Errorf("%s: %d message(s) moved, want 0", when, n)
		}
	}

	// Down before the pass starts.
	proxy.stop()
	code, out, errOut := once(t, cfg, viaProxy)
	if code != 1 || !strings.Contains(errOut, "cannot open the store") || !strings.Contains(errOut, proxy.addr) || !strings.Contains(errOut, target.Database) {
		t.Errorf("database down: exit %d, stderr %q; want 1 and an error naming %s and database %s", code, lastLines(errOut, 5), proxy.addr, target.Database)
	}
	t.Logf("database down at start: exit %d: %s", code, lastLines(errOut, 1))
	untouched("database down at start")

	// Down in the middle of the first batch's transaction.
	proxy.start()
	proxy.mu.Lock()
	proxy.trigger = "INSERT INTO processed_messages"
	proxy.mu.Unlock()
	code, out, errOut = once(t, cfg, viaProxy)
	proxy.mu.Lock()
	tripped := proxy.tripped
	proxy.trigger = ""
	proxy.mu.Unlock()
	if !tripped {
		t.Fatalf("the proxy never saw the batch's INSERT; stdout %q", out)
	}
	if code != 1 || !strings.Contains(out, "e2e: FAILED") || !strings.Contains(errOut, "recording batch") || !strings.Contains(errOut, "were not moved") {
		t.Errorf("database lost mid-batch: exit %d, stdout %q, stderr %q", code, out, lastLines(errOut, 5))
	}
	t.Logf("database lost mid-batch: exit %d: %s", code, lastLines(errOut, 1))
	untouched("database lost mid-batch")
	if s := takeSnapshot(t, db); len(s.Ledger) != 0 || len(s.Events) != 0 {
		t.Errorf("the interrupted transaction left %v in the ledger and %d events", s.Ledger, len(s.Events))
	}

	// Back up: everything is recorded once and moved.
	proxy.start()
	mustOnce(t, cfg, viaProxy)
	s := takeSnapshot(t, db)
	if diff := diffSnapshots(s, want); diff != "" {
		t.Errorf("after the outage the database differs from a clean run's:\n%s", diff)
	}
	checkCleanRun(t, c, folder, msgs, s)
}

// imapCutter is a TCP proxy in front of Dovecot that, once, closes the
// connection after cutAfter bytes of the response to the first
// BODY.PEEK[] FETCH.
type imapCutter struct {
	target   string
	cutAfter int

	mu     sync.Mutex
	armed  bool // the client sent a body FETCH on the connection being watched
	cut    bool // the cut happened
	served int  // bytes of FETCH response passed before the cut
}

func newIMAPCutter(t *testing.T, target string, cutAfter int) (*imapCutter, string) {
	p := &imapCutter{target: target, cutAfter: cutAfter}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				down.Close()
				continue
			}
			go p.relay(down, up)
		}
	}()
	return p, ln.Addr().String()
}

func (p *imapCutter) relay(down, up net.Conn) {
	var watching bool // this connection is the one being cut
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := down.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte("BODY.PEEK[]")) {
					p.mu.Lock()
					if !p.cut && !p.armed {
						p.armed, watching = true, true
					}
					p.mu.Unlock()
				}
				if _, err := up.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				up.Close()
				return
			}
		}
	}()
	buf := make([]byte, 4096)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if watching && p.armed && !p.cut {
				if p.served+n >= p.cutAfter {
					n = p.cutAfter - p.served
					p.cut = true
					down.Write(buf[:n])
					p.mu.Unlock()
					down.Close()
					up.Close()
					return
				}
				p.served += n
			}
			p.mu.Unlock()
			if _, err := down.Write(buf[:n]); err != nil {
				up.Close()
				return
			}
		}
		if err != nil {
			down.Close()
			return
		}
	}
}

// TestE2EIMAPDroppedMidFetch cuts the IMAP connection in the middle of a
// FETCH response (after one batch has been fetched): the pass retries on a
// new connection and completes, and the counts are right.
func TestE2EIMAPDroppedMidFetch(t *testing.T) {
	d := requireDovecot(t)
	msgs := loadCorpus(t, corpusDir(t, "emails"))
	want := baselineSnapshot(t, d, msgs)

	c := d.client(t)
	folder := newFolder(t, d, c, "e2e-cut")
	msgs = appendCorpus(t, c, folder, msgs)
	db := migratedDatabase(t)
	// The FETCH responses of the first batches: about 600 KB per 100 corpus
	// messages. Cut within the second batch.
	cutter, addr := newIMAPCutter(t, d.addr, 900<<10)
	cfg := e2eConfig(t, d, folder, addr, config.DispositionMove, 100)
	code, out, errOut := once(t, cfg, db)
	cutter.mu.Lock()
	cut := cutter.cut
	cutter.mu.Unlock()
	if !cut {
		t.Fatalf("the connection was never cut (stdout %q)", out)
	}
	if code != 0 || !strings.Contains(out, fmt.Sprintf("e2e: %d message(s)", len(msgs))) {
		t.Fatalf("exit %d, stdout %q, want 0 and all %d messages\n%s", code, out, len(msgs), lastLines(errOut, 20))
	}
	for _, l := range strings.Split(errOut, "\n") {
		if strings.Contains(l, "retrying") || strings.Contains(l, "batch recorded") {
			t.Log(l)
		}
	}
	if !strings.Contains(errOut, "pass failed, retrying") {
		t.Errorf("no retry logged:\n%s", lastLines(errOut, 20))
	}
	s := takeSnapshot(t, db)
	if diff := diffSnapshots(s, want); diff != "" {
		t.Errorf("after the dropped connection the database differs from a clean run's:\n%s", diff)
	}
	checkCleanRun(t, c, folder, msgs, s)
}

// TestE2EUIDValidityChanged records a folder with the leave disposition,
// then has Dovecot give the folder a new UIDVALIDITY (delete, recreate,
// append again part of the same messages and one new one). The next pass
// rescans from UID 1: the old messages are recognised by their content and
// counted once, the new one is recorded.
func TestE2EUIDValidityChanged(t *testing.T) {
	d := requireDovecot(t)
	msgs := loadCorpus(t, corpusDir(t, filepath.Join("rig", "emails")))
	c := d.client(t)
	folder := newFolder(t, d, c, "e2e-uidv")
	msgs = appendCorpus(t, c, folder, msgs)
	old := uidValidity(t, c, folder)
	db := migratedDatabase(t)
	cfg := e2eConfig(t, d, folder, "", config.DispositionLeave, 25)
	mustOnce(t, cfg, db)
	first := takeSnapshot(t, db)
	if n := folderCount(t, c, folder); n != len(msgs) {
		t.Fatalf("leave moved messages: %s holds %d, want %d", folder, n, len(msgs))
	}

	// A new UIDVALIDITY: Dovecot derives it from the clock.
	time.Sleep(1100 * time.Millisecond)
	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	half := msgs[:len(msgs)/2]
	extra := [][]byte{simpleDSN("uidv-"+rand.Text()[:8]+"@example.net", "uidv-new")}
	appendAll(t, c, folder, append(datas(half), extra...))
	if now := uidValidity(t, c, folder); now == old {
		t.Fatalf("UIDVALIDITY stayed %d after delete and create", now)
	}
	distinctHalf := expect(half).distinct

	out := mustOnce(t, cfg, db)
	// Without the rescan the new UIDs (1..len(half)+1, all at or below the
	// old checkpoint) would not be read at all.
	if want := fmt.Sprintf("e2e: %d message(s)", len(half)+1); !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("%d already recorded", len(half))) {
		t.Errorf("pass after the UIDVALIDITY change: %q, want %q… %d already recorded", out, want, len(half))
	}
	s := takeSnapshot(t, db)
	ledger := func(s snapshot) int { return s.Ledger["processed"] + s.Ledger["unrecognized"] + s.Ledger["failed"] }
	if ledger(s) != ledger(first)+1 {
		t.Errorf("ledger holds %d, want %d + 1 new message (%d of the rescanned are old)", ledger(s), ledger(first), distinctHalf)
	}
	if got := len(s.Events) - len(first.Events); got != 1 {
		t.Errorf("%d new bounce events, want 1 (the new message's)", got)
	}
	var cp struct{ validity int64 }
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), `SELECT uidvalidity FROM mailboxes WHERE mailbox = 'e2e'`).Scan(&cp.validity); err != nil {
		t.Fatal(err)
	}
	if uint32(cp.validity) == old {
		t.Errorf("the checkpoint still has the old UIDVALIDITY %d", old)
	}
	// The old messages' counts did not grow; the new one's suppression is
	// the only new row.
	if diff := multisetDiff(first.Suppressions, s.Suppressions); len(diff) > 0 || len(s.Suppressions) != len(first.Suppressions)+1 {
		t.Errorf("suppressions: %d, want %d + 1; changed: %q", len(s.Suppressions), len(first.Suppressions), diff)
	}
	var b strings.Builder
	diffList(&b, "reputation", s.Reputation, first.Reputation)
	diffList(&b, "soft bounces", s.Soft, first.Soft)
	if b.Len() > 0 {
		t.Errorf("the rescan changed old counts:\n%s", b.String())
	}
}

// simpleDSN returns a one-recipient RFC 3464 bounce (user unknown) for rcpt.
func simpleDSN(rcpt, id string) []byte {
	return dsnFor(rcpt, id, "failed", "5.1.1", "550 5.1.1 <"+rcpt+">: Recipient address rejected: User unknown")
}

// dsnFor returns a one-recipient RFC 3464 bounce.
func dsnFor(rcpt, id, action, status, diagnostic string) []byte {
	return crlf(fmt.Appendf(nil, `From: MAILER-DAEMON@mx.example.com
To: bounces@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <%s@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

<%s>: %s

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; %s
Action: %s
Status: %s
Diagnostic-Code: smtp; %s

--b
Content-Type: text/rfc822-headers

From: Newsletter <news@example.com>
To: <%s>
Subject: News
Message-ID: <orig-%s@example.com>

--b--
`, id, rcpt, diagnostic, rcpt, action, status, diagnostic, rcpt, id))
}

// policyMessages returns bounces that exercise the list-hygiene policy:
// three soft bounces (mailbox full) for soft3, two for soft2, one
// sender-side rejection (blocklisted: verdict alert) for alert and one hard
// bounce for hard. Only soft3 and hard may end up suppressed.
func policyMessages(t testing.TB) (msgs []corpusMessage, soft3, soft2, alert, hard string) {
	tag := strings.ToLower(rand.Text()[:8])
	soft3, soft2 = "soft3-"+tag+"@example.net", "soft2-"+tag+"@example.net"
	alert, hard = "alert-"+tag+"@example.org", "hard-"+tag+"@example.org"
	full := func(rcpt string) string { return "452 4.2.2 <" + rcpt + ">: Mailbox full, quota exceeded" }
	var raw [][]byte
	for i := range 3 {
		raw = append(raw, dsnFor(soft3, fmt.Sprintf("p-%s-s3-%d", tag, i), "failed", "4.2.2", full(soft3)))
	}
	for i := range 2 {
		raw = append(raw, dsnFor(soft2, fmt.Sprintf("p-%s-s2-%d", tag, i), "failed", "4.2.2", full(soft2)))
	}
	raw = append(raw, dsnFor(alert, "p-"+tag+"-alert", "failed", "5.7.1",
		"554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org"))
	raw = append(raw, simpleDSN(hard, "p-"+tag+"-hard"))
	for i, data := range raw {
		m := corpusMessage{name: fmt.Sprintf("policy-%d", i), data: data, hash: sha256.Sum256(data)}
		m.rep, m.err = dsn.Parse(bytes.NewReader(data), dsn.Options{MaxSize: config.DefaultMaxSize})
		msgs = append(msgs, m)
	}
	return msgs, soft3, soft2, alert, hard
}
