package imapwatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// memRecorder is an in-memory Recorder with the store's contract: one
// all-or-nothing write per batch, a ledger keyed on (mailbox, UIDVALIDITY,
// UID) and on the content hash.
type memRecorder struct {
	mu          sync.Mutex
	checkpoints map[string]store.Checkpoint
	byUID       map[string]bool
	byHash      map[[32]byte]bool
	recorded    []store.Message // each message recorded once
	batches     int
	// failWrite, when set, makes WriteBatch fail before recording.
	failWrite error
	// refuse, when set, makes WriteBatch refuse (store.ErrRejected) a batch
	// holding a processed message it returns true for, as PostgreSQL
	// refuses data it cannot store.
	refuse func(m store.Message) bool
	// afterCommit, when set, runs after a batch is recorded; its error is
	// returned as if the commit's reply had been lost.
	afterCommit func(b store.Batch) error
}

func newMemRecorder() *memRecorder {
	return &memRecorder{
		checkpoints: map[string]store.Checkpoint{},
		byUID:       map[string]bool{},
		byHash:      map[[32]byte]bool{},
	}
}

func (r *memRecorder) Checkpoint(ctx context.Context, mailbox string) (store.Checkpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp, ok := r.checkpoints[mailbox]
	if !ok {
		cp.Mailbox = mailbox
	}
	return cp, nil
}

func (r *memRecorder) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	r.mu.Lock()
	if r.failWrite != nil {
		err := r.failWrite
		r.mu.Unlock()
		return store.BatchResult{}, err
	}
	for _, m := range b.Messages {
		if r.refuse != nil && m.Outcome == store.OutcomeProcessed && r.refuse(m) {
			r.mu.Unlock()
			return store.BatchResult{}, fmt.Errorf("writing batch: %w: value out of range", store.ErrRejected)
		}
	}
	var res store.BatchResult
	for _, m := range b.Messages {
		key := fmt.Sprintf("%s/%d/%d", b.Mailbox, b.UIDValidity, m.UID)
		if r.byUID[key] || r.byHash[m.ContentHash] {
			res.Duplicates++
			res.DuplicateUIDs = append(res.DuplicateUIDs, m.UID)
			continue
		}
		r.byUID[key], r.byHash[m.ContentHash] = true, true
		r.recorded = append(r.recorded, m)
		res.Messages++
	}
	r.checkpoints[b.Mailbox] = store.Checkpoint{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, LastUID: b.LastUID}
	r.batches++
	hook := r.afterCommit
	r.mu.Unlock()
	if hook != nil {
		if err := hook(b); err != nil {
			return store.BatchResult{}, err
		}
	}
	return res, nil
}

// memLeases is an in-memory Leaser with the store's contract, for tests
// that need no PostgreSQL.
type memLeases struct {
	mu     sync.Mutex
	leases map[string]store.Lease // by mailbox; Replica "" when free
	gens   map[string]int64
}

func newMemLeases() *memLeases {
	return &memLeases{leases: map[string]store.Lease{}, gens: map[string]int64{}}
}

func (m *memLeases) Register(ctx context.Context, replica string, mailboxes []string, ttl time.Duration) ([]store.Replica, error) {
	return []store.Replica{{Name: replica, Mailboxes: mailboxes}}, nil
}

func (m *memLeases) Retire(ctx context.Context, replica string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for mb, l := range m.leases {
		if l.Replica == replica {
			delete(m.leases, mb)
		}
	}
	return nil
}

func (m *memLeases) AcquireLeases(ctx context.Context, replica string, want []string, ttl time.Duration) ([]store.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var taken []store.Lease
	for _, mb := range want {
		if m.leases[mb].Replica != "" {
			continue
		}
		m.gens[mb]++
		l := store.Lease{Mailbox: mb, Replica: replica, Generation: m.gens[mb]}
		m.leases[mb] = l
		taken = append(taken, l)
	}
	return taken, nil
}

func (m *memLeases) RenewLeases(ctx context.Context, replica string, held []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var kept []store.Lease
	for _, l := range held {
		if m.leases[l.Mailbox] == l {
			kept = append(kept, l)
		}
	}
	return kept, nil
}

func (m *memLeases) ReleaseLeases(ctx context.Context, leases []store.Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range leases {
		if m.leases[l.Mailbox] == l {
			delete(m.leases, l.Mailbox)
		}
	}
	return nil
}

func (r *memRecorder) outcomes() map[store.Outcome]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[store.Outcome]int{}
	for _, m := range r.recorded {
		out[m.Outcome]++
	}
	return out
}

// testParse stands in for the real parser, which lands with issue 2: a
// message carrying "X-Test-Bounce: RCPT" is a DSN for RCPT; anything else is
// unrecognised. It reads the whole reader, like the real one, and enforces
// MaxSize the same way.
func testParse(r io.Reader, opts dsn.Options) (*dsn.Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > opts.MaxSize {
		return nil, dsn.ErrTooLarge
	}
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(data))).ReadMIMEHeader()
	if err != nil && len(hdr) == 0 {
		return &dsn.Report{Kind: dsn.KindUnrecognized}, nil
	}
	rcpt := hdr.Get("X-Test-Bounce")
	if rcpt == "" {
		return &dsn.Report{Kind: dsn.KindUnrecognized}, nil
	}
	return &dsn.Report{Kind: dsn.KindDSN, Recipients: []dsn.Recipient{{
		Address: rcpt, Action: dsn.ActionFailed, Status: "5.1.1", SMTPCode: 550,
		Classification: dsn.Classification{Reason: dsn.ReasonUserUnknown, Scope: dsn.ScopeRecipient, Permanent: true, Verdict: dsn.VerdictSuppress},
	}}}, nil
}

// bounceMessage returns a distinct test message; a bounce when bounce is
// true. padding adds that many bytes of body.
func bounceMessage(n int, bounce bool, padding int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: MAILER-DAEMON@mx.example.org\r\nTo: bounces@example.com\r\n")
	fmt.Fprintf(&b, "Message-ID: <bounce-%d@mx.example.org>\r\nSubject: test %d\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n", n, n)
	if bounce {
		fmt.Fprintf(&b, "X-Test-Bounce: user%d@example.net\r\n", n)
	}
	fmt.Fprintf(&b, "\r\nDelivery to user%d@example.net failed.\r\n", n)
	line := strings.Repeat("x", 70) + "\r\n"
	for written := 0; written < padding; written += len(line) {
		b.WriteString(line)
	}
	return b.Bytes()
}

// appendMessages APPENDs messages to folder over c.
func appendMessages(t testing.TB, c *imapclient.Client, folder string, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		cmd := c.Append(folder, int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			t.Fatalf("appending: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("appending: %v", err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("appending: %v", err)
		}
	}
}

// folderState describes a folder: how many messages, and how many carry the
// $Bounced keyword.
type folderState struct {
	Messages int
	Bounced  int
}

// stateOf selects folder read-only over c and counts its messages.
func stateOf(t testing.TB, c *imapclient.Client, folder string) folderState {
	t.Helper()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return folderState{}
		}
		t.Fatalf("selecting %s: %v", folder, err)
	}
	st := folderState{Messages: int(sel.NumMessages)}
	if st.Messages > 0 {
		data, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{FlagBounced}}, nil).Wait()
		if err != nil {
			t.Fatalf("searching %s: %v", folder, err)
		}
		st.Bounced = len(data.AllUIDs())
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("unselecting: %v", err)
	}
	return st
}

// passwordFile writes password to a file and returns a SecretSource for it.
func passwordFile(t testing.TB, password string) config.SecretSource {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.SecretSource{File: p}
}

// mustPass runs one pass and fails the test on error.
func mustPass(t testing.TB, w *Watcher) Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := w.Pass(ctx)
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	return st
}

// requireEnv returns the environment variables or skips the test; with
// CI=true a missing variable fails it.
func requireEnv(t testing.TB, names ...string) []string {
	t.Helper()
	out := make([]string, len(names))
	var missing []string
	for i, n := range names {
		out[i] = os.Getenv(n)
		if out[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s unset: .ci/dovecot.sh should have exported it", strings.Join(missing, ", "))
		}
		t.Skipf("%s unset; run `. .ci/dovecot.sh` to test against Dovecot", strings.Join(missing, ", "))
	}
	return out
}
