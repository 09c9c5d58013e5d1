package imapwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// attempt is one connection's worth of a pass: connect, select, find the
// messages to read, then batch after batch until none is left. Progress is
// kept in st across attempts: a retry resumes after the last committed batch.
func (w *Watcher) attempt(ctx, work context.Context, st *Stats) error {
	s, err := dial(work, w.m, w.tokens, nil, w.log)
	if err != nil {
		return err
	}
	defer s.close()

	var sel *imap.SelectData
	if err := s.step("selecting "+w.m.Folder, func() (err error) {
		sel, err = s.c.Select(w.m.Folder, &imap.SelectOptions{ReadOnly: w.opts.FetchOnly}).Wait()
		return err
	}); err != nil {
		return err
	}

	var cp store.Checkpoint
	if !w.opts.FetchOnly {
		if cp, err = w.rec.Checkpoint(work, w.m.Name); err != nil {
			return errRecorder{fmt.Errorf("reading checkpoint: %w", err)}
		}
	}
	after := cp.LastUID
	if cp.UIDValidity != 0 && cp.UIDValidity != sel.UIDValidity {
		// RFC 9051 section 2.3.1.1: the old UIDs mean nothing now. Read
		// everything again; the ledger's content hash keeps counts right.
		w.log.Warn("UIDVALIDITY changed, rescanning the mailbox",
			"old_uidvalidity", cp.UIDValidity, "uidvalidity", sel.UIDValidity)
		after = 0
		st.Rescanned = true
	}
	// The backlog is measured afresh by every attempt: a retry's count
	// replaces that of the attempt before it.
	st.Backlog = Backlog{InFolder: int(sel.NumMessages), Counted: time.Now()}
	if sel.NumMessages == 0 {
		return nil
	}

	uids, err := w.search(s, sel, after)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return nil
	}
	st.Backlog.Waiting = len(uids)
	// Left is what this attempt did not get to: its messages minus those
	// it recorded (fetched, with FetchOnly), whichever way run ends.
	before := st.Messages
	defer func() { st.Backlog.Left = max(0, len(uids)-(st.Messages-before)) }()
	w.log.Debug("new messages", "count", len(uids), "after_uid", after, "uidvalidity", sel.UIDValidity)

	if !w.opts.FetchOnly {
		if err := w.ensureFolders(s); err != nil {
			return err
		}
	}
	return w.run(ctx, work, s, sel.UIDValidity, after, uids, st)
}

// job is one fetched batch on its way through the store.
type job struct {
	batch           store.Batch
	set             imap.UIDSet // every UID of the batch, for messages
	processed, kept imap.UIDSet
	done            chan error
	res             store.BatchResult

	uids    []imap.UID            // the batch's UIDs in order
	msgs    map[imap.UID]*fetched // what was read of each
	parsing sync.WaitGroup        // the parses still running (parse-ahead)
}

// run works the UIDs batch by batch, as a pipeline of three stages that
// overlap: this goroutine fetches and parses batch k+1 on the main
// connection (one command at a time) while the store writes batch k in the
// background and a disposer moves or flags the batches already committed on
// a second connection. A batch reaches the disposer only after its
// WriteBatch returned nil.
func (w *Watcher) run(ctx, work context.Context, s *session, uidValidity, after uint32, uids []imap.UID, st *Stats) error {
	var (
		inflight        *job
		disp            *disposer
		stopped, failed error
	)
	if !w.opts.FetchOnly && w.m.Disposition != config.DispositionLeave {
		disp = w.startDisposer(work)
		defer func() {
			if disp != nil { // a panic (from the parser, say) skipped finish
				disp.finish()
			}
		}()
	}
	// settle waits for the batch being written and hands it to the
	// disposer when it committed.
	settle := func() error {
		if inflight == nil {
			return nil
		}
		j := inflight
		inflight = nil
		if err := <-j.done; err != nil {
			return errRecorder{fmt.Errorf("recording batch of UIDs %s: %w (its messages were not moved; the next pass retries them)", j.set.String(), err)}
		}
		w.account(j, st)
		if w.opts.AfterCommit != nil {
			w.opts.AfterCommit()
		}
		if disp != nil {
			disp.send(disposal{processed: j.processed, kept: j.kept})
		}
		return nil
	}

	for chunk := range slices.Chunk(uids, w.m.BatchSize) {
		if ctx.Err() != nil {
			stopped = fmt.Errorf("%w before the next batch: %w", errStopped, ctx.Err())
			break
		}
		if disp != nil && disp.failed() {
			break // reported by finish below
		}
		j, err := w.fetchBatch(s, uidValidity, max(after, uint32(chunk[len(chunk)-1])), chunk, st)
		if err != nil {
			failed = err
			break
		}
		if err := settle(); err != nil {
			failed = err
			break
		}
		if j == nil || ctx.Err() != nil {
			continue // fetch-only, or stopping: this batch rolls back
		}
		j.done = make(chan error, 1)
		go func() {
			// The parses of this batch finish here, beside the fetch of
			// the next one.
			j.parsing.Wait()
			j.assemble()
			var err error
			began := time.Now()
			j.res, err = w.record(work, j)
			if err == nil && w.opts.Observer != nil {
				w.opts.Observer.ObserveBatch(w.m.Name, time.Since(began), j.res)
			}
			j.done <- err
		}()
		inflight = j
	}
	// Whatever committed is disposed of, even when a later step failed.
	if err := settle(); err != nil && failed == nil {
		failed = err
	}
	if disp != nil {
		err := disp.finish()
		disp = nil
		if err != nil && failed == nil {
			failed = err
		}
	}
	if failed != nil {
		return failed
	}
	return stopped
}

// record writes a batch through the recorder. A batch the database refuses
// for its data (store.ErrRejected) would be refused on every pass, and stop
// the mailbox at that batch for good: its messages are then written one by
// one, and a message the database still refuses is recorded as failed,
// without its report, and kept in the unrecognized folder for a human.
// The checkpoint moves to the batch's end once all of them are recorded.
func (w *Watcher) record(ctx context.Context, j *job) (store.BatchResult, error) {
	res, err := w.rec.WriteBatch(ctx, j.batch)
	if !errors.Is(err, store.ErrRejected) {
		return res, err
	}
	w.log.Warn("the database refused a batch; recording its messages one by one", "uids", j.set.String(), "err", err)
	var total store.BatchResult
	j.processed, j.kept = imap.UIDSet{}, imap.UIDSet{}
	for i := range j.batch.Messages {
		m := &j.batch.Messages[i]
		one := store.Batch{Mailbox: j.batch.Mailbox, UIDValidity: j.batch.UIDValidity, LastUID: m.UID,
			Messages: []store.Message{*m}, Limits: j.batch.Limits, Lease: j.batch.Lease}
		r, err := w.rec.WriteBatch(ctx, one)
		if errors.Is(err, store.ErrRejected) {
			w.log.Error("the database refused a message; it is recorded as failed and kept", "uid", m.UID, "err", err)
			m.Outcome, m.Report, m.Error = store.OutcomeFailed, nil, "refused by the database: "+err.Error()
			one.Messages[0] = *m
			r, err = w.rec.WriteBatch(ctx, one)
		}
		if err != nil {
			return total, err
		}
		total.Messages += r.Messages
		total.Duplicates += r.Duplicates
		total.DuplicateUIDs = append(total.DuplicateUIDs, r.DuplicateUIDs...)
		total.Events += r.Events
		total.Suppressed += r.Suppressed
		total.Incidents += r.Incidents
		total.HeldPerMessage += r.HeldPerMessage
		total.HeldPerHour += r.HeldPerHour
		total.LiftedKept += r.LiftedKept
		total.Suppressions = append(total.Suppressions, r.Suppressions...)
		if m.Outcome == store.OutcomeProcessed {
			j.processed.AddNum(imap.UID(m.UID))
		} else {
			j.kept.AddNum(imap.UID(m.UID))
		}
	}
	if _, err := w.rec.WriteBatch(ctx, store.Batch{Mailbox: j.batch.Mailbox, UIDValidity: j.batch.UIDValidity, LastUID: j.batch.LastUID, Lease: j.batch.Lease}); err != nil {
		return total, err
	}
	return total, nil
}

// account adds a committed batch to the pass's stats. A message the
// ledger already had counts as a duplicate only, whatever its outcome.
func (w *Watcher) account(j *job, st *Stats) {
	st.Batches++
	st.Duplicates += j.res.Duplicates
	for _, m := range j.batch.Messages {
		st.Messages++
		st.Bytes += m.Size
		if slices.Contains(j.res.DuplicateUIDs, m.UID) {
			continue
		}
		switch m.Outcome {
		case store.OutcomeProcessed:
			st.Processed++
		case store.OutcomeUnrecognized:
			st.Unrecognized++
		default:
			st.Failed++
		}
	}
	st.Held += j.res.Held()
	w.log.Debug("batch recorded", "uids", j.set.String(), "messages", j.res.Messages, "duplicates", j.res.Duplicates,
		"events", j.res.Events, "suppressed", j.res.Suppressed, "incidents", j.res.Incidents)
	if j.res.Held() > 0 {
		w.log.Warn("suppressions held by the brake: not in force until released (bounced suppressions held)",
			"uids", j.set.String(), "held", j.res.Held(),
			"held_per_message", j.res.HeldPerMessage, "max_per_message", j.batch.Limits.PerMessage,
			"held_per_hour", j.res.HeldPerHour, "max_per_hour", j.batch.Limits.PerHour)
	}
	if j.res.LiftedKept > 0 {
		w.log.Info("addresses lifted by hand stay lifted: only a verified bounce suppresses them again",
			"uids", j.set.String(), "addresses", j.res.LiftedKept)
	}
}

// limits returns the mailbox's brake for its batches.
func (w *Watcher) limits() store.Limits {
	return store.Limits{PerMessage: w.m.MaxSuppressionsPerMessage, PerHour: w.m.MaxSuppressionsPerHour}
}

// search returns the UIDs to fetch, in ascending order.
//
// With the leave disposition (and when the server will not keep the $Bounced
// keyword) that is every UID above the checkpoint. Otherwise it is every
// message not yet marked $Bounced, whatever its UID: after a move or flag
// only those remain, and a message whose batch committed but whose
// disposition did not happen (a crash, a dropped connection) is fetched again,
// skipped by the ledger and disposed of then.
func (w *Watcher) search(s *session, sel *imap.SelectData, after uint32) ([]imap.UID, error) {
	criteria := &imap.SearchCriteria{NotFlag: []imap.Flag{FlagBounced}}
	if w.opts.FetchOnly || w.m.Disposition == config.DispositionLeave || !keepsKeyword(sel.PermanentFlags) {
		criteria = &imap.SearchCriteria{
			UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(after + 1), Stop: 0}}},
		}
	}
	var uids []imap.UID
	if err := s.step("searching for new messages", func() error {
		data, err := s.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return err
		}
		uids = data.AllUIDs()
		return nil
	}); err != nil {
		return nil, err
	}
	if criteria.UID != nil {
		// "n:*" always matches the highest UID, even below n.
		uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint32(u) <= after })
	}
	slices.Sort(uids)
	return uids, nil
}

// keepsKeyword reports whether the mailbox stores the $Bounced keyword
// permanently (PERMANENTFLAGS lists it or \*).
func keepsKeyword(permanent []imap.Flag) bool {
	for _, f := range permanent {
		if f == imap.FlagWildcard || strings.EqualFold(string(f), string(FlagBounced)) {
			return true
		}
	}
	return false
}

// fetched is one message of a batch while it is being read.
type fetched struct {
	uid      imap.UID
	size     int64
	received time.Time
	got      bool          // its body arrived
	msg      store.Message // complete once the batch's parsing is done
}

// Parse-ahead: a message of at most parseAheadMax bytes is read into memory
// and parsed on another goroutine (up to GOMAXPROCS at a time) while the
// fetching goroutine reads the next, as long as the batch holds at most
// parseAheadBudget bytes so read; any other message is streamed into the
// parser on the fetching goroutine. At most two batches are held at once
// (the one being parsed and written, the one being fetched).
const (
	parseAheadMax    = 1 << maxBufferClass
	parseAheadBudget = 16 << 20
)

// fetchBatch fetches and parses one batch of UIDs. It returns nil (and no
// error) in fetch-only mode.
func (w *Watcher) fetchBatch(s *session, uidValidity, lastUID uint32, uids []imap.UID, st *Stats) (*job, error) {
	// Sizes first, so an oversized message is never fetched whole.
	msgs := make(map[imap.UID]*fetched, len(uids))
	var set imap.UIDSet
	set.AddNum(uids...)
	if err := s.step("fetching sizes", func() error {
		cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true})
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			s.progress()
			buf, err := m.Collect()
			if err != nil {
				cmd.Close()
				return err
			}
			msgs[buf.UID] = &fetched{uid: buf.UID, size: buf.RFC822Size, received: buf.InternalDate}
		}
		return cmd.Close()
	}); err != nil {
		return nil, err
	}

	var whole, partial imap.UIDSet
	for _, f := range msgs {
		if f.size > w.m.MaxSize {
			partial.AddNum(f.uid)
		} else {
			whole.AddNum(f.uid)
		}
	}
	j := &job{batch: store.Batch{Mailbox: w.m.Name, UIDValidity: uidValidity, LastUID: lastUID, Limits: w.limits(), Lease: w.lease},
		set: set, uids: uids, msgs: msgs}
	budget := int64(parseAheadBudget)
	if len(whole) > 0 {
		if err := w.fetchBodies(s, whole, nil, j, &budget); err != nil {
			return nil, err
		}
	}
	if len(partial) > 0 {
		w.log.Warn("messages above max_size: reading only their beginning", "uids", partial.String(), "max_size", w.m.MaxSize)
		if err := w.fetchBodies(s, partial, &imap.SectionPartial{Offset: 0, Size: w.m.MaxSize}, j, &budget); err != nil {
			return nil, err
		}
	}

	for _, uid := range uids {
		f, ok := msgs[uid]
		if !ok {
			continue // expunged by another client since the search
		}
		if w.opts.FetchOnly {
			st.Messages++
			st.Bytes += f.size
			continue
		}
		if !f.got {
			return nil, fmt.Errorf("fetching UID %d: the server returned no body", uid)
		}
	}
	if w.opts.FetchOnly {
		return nil, nil
	}
	return j, nil
}

// assemble fills in the batch's messages and the UID sets to dispose of. It
// must only be called once the batch's parsing is done.
func (j *job) assemble() {
	for _, uid := range j.uids {
		f, ok := j.msgs[uid]
		if !ok {
			continue
		}
		j.batch.Messages = append(j.batch.Messages, f.msg)
		if f.msg.Outcome == store.OutcomeProcessed {
			j.processed.AddNum(uid)
		} else {
			j.kept.AddNum(uid)
		}
	}
	j.msgs = nil
}

// fetchBodies reads the bodies of set (the first partial.Size bytes of each
// when partial is set) and fills in j.msgs: each message is either read into
// memory and parsed on another goroutine (see parseAheadMax; j.parsing
// counts those parses, budget the bytes the batch may still hold) or
// streamed into the parser here. It reads every literal to its end before
// the next, so a single command is outstanding and go-imap's reader is
// never left blocked.
func (w *Watcher) fetchBodies(s *session, set imap.UIDSet, partial *imap.SectionPartial, j *job, budget *int64) error {
	section := &imap.FetchItemBodySection{Peek: true, Partial: partial}
	return s.step("fetching bodies", func() error {
		cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			s.progress()
			var (
				uid  imap.UID
				read *store.Message
				data []byte // read whole, to parse ahead
			)
			for item := m.Next(); item != nil; item = m.Next() {
				switch item := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = item.UID
				case imapclient.FetchItemDataBodySection:
					if item.Literal == nil {
						continue
					}
					size := item.Literal.Size()
					if !w.opts.FetchOnly && size <= parseAheadMax && size <= *budget {
						buf, err := readWhole(item.Literal, size)
						if err != nil {
							s.c.Close() // as below
							return err
						}
						*budget -= size
						data = buf
						continue
					}
					msg, err := w.read(item.Literal, size, partial != nil)
					if err != nil {
						// The connection broke inside a literal. go-imap's
						// reader goroutine resumes reading as soon as the
						// literal errs, so nothing here may touch the
						// command again: close the client, which waits
						// for that goroutine to end, and give up.
						s.c.Close()
						return err
					}
					read = &msg
				}
			}
			f, ok := j.msgs[uid]
			switch {
			case !ok:
			case read != nil:
				f.got = true
				w.settleMessage(f, read, partial != nil)
			case data != nil:
				f.got = true
				j.parsing.Add(1)
				go func() {
					defer j.parsing.Done()
					w.parsers <- struct{}{}
					defer func() { <-w.parsers }()
					msg := w.parseWhole(data, partial != nil)
					putBuffer(data)
					w.settleMessage(f, &msg, partial != nil)
				}()
			}
		}
		return cmd.Close()
	})
}

// settleMessage completes what was read of f and stores it in f.msg.
func (w *Watcher) settleMessage(f *fetched, read *store.Message, partial bool) {
	read.UID, read.Size, read.ReceivedAt = uint32(f.uid), f.size, f.received
	if partial && read.Outcome != store.OutcomeProcessed {
		read.Outcome = store.OutcomeFailed
		read.Error = fmt.Sprintf("message of %d bytes exceeds max_size %d; its first %d bytes were not recognised", f.size, w.m.MaxSize, w.m.MaxSize)
		read.Report = nil
	}
	f.msg = *read
}

// readWhole reads a literal of the given size to its end. A literal that
// ends early means the connection was lost: that is an error.
// The buffer comes from getBuffer: give it back with putBuffer.
func readWhole(lit io.Reader, size int64) ([]byte, error) {
	buf := getBuffer(size)
	n, err := io.ReadFull(lit, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		putBuffer(buf)
		return nil, fmt.Errorf("reading message: connection lost after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, lit)
	}
	if err != nil {
		putBuffer(buf)
		return nil, fmt.Errorf("reading message: %w", err)
	}
	return buf, nil
}

// parseWhole hashes and parses a message read into memory.
func (w *Watcher) parseWhole(data []byte, partial bool) store.Message {
	msg := store.Message{ContentHash: sha256.Sum256(data), MessageID: messageID(data[:min(len(data), headerSniffLimit)])}
	rep, perr := w.parse(bytes.NewReader(data), w.parseOptions(partial))
	w.setOutcome(&msg, rep, perr)
	return msg
}

// parseOptions are the parser's options for a message read whole, or only
// its first max_size bytes when partial.
func (w *Watcher) parseOptions(partial bool) dsn.Options {
	opts := dsn.Options{MaxSize: w.m.MaxSize, CorrelationHeaders: w.m.CorrelationHeaders}
	if partial {
		opts.MaxSize++ // the first MaxSize bytes are all there is: not too large
	}
	return opts
}

// setOutcome records what the parser made of a message.
func (w *Watcher) setOutcome(msg *store.Message, rep *dsn.Report, perr error) {
	switch {
	case perr != nil:
		msg.Outcome, msg.Error = store.OutcomeFailed, perr.Error()
		if errors.Is(perr, dsn.ErrTooLarge) {
			msg.Error = fmt.Sprintf("larger than max_size %d: %v", w.m.MaxSize, perr)
		}
	case rep == nil || rep.Kind == dsn.KindUnrecognized || rep.Kind == "":
		msg.Outcome, msg.Report = store.OutcomeUnrecognized, rep
	default:
		msg.Outcome, msg.Report = store.OutcomeProcessed, rep
	}
	if rep != nil && rep.RecipientsDropped > 0 {
		// Never a silent drop: the parser keeps a bounded number of
		// recipients, and a bounce naming more is worth a look.
		w.log.Warn("the bounce names more recipients than the parser keeps: the rest are not recorded",
			"message_id", msg.MessageID, "recipients", len(rep.Recipients), "recipients_dropped", rep.RecipientsDropped)
	}
}

// headerSniffLimit bounds the copy of a message's beginning kept to read its
// Message-ID.
const headerSniffLimit = 8 << 10

// read streams one message into the parser while hashing it. Whatever the
// parser leaves unread is drained (and hashed) so the connection moves on.
// Only an error reading from the server is returned; parse failures become
// OutcomeFailed.
//
// A literal that ends before its announced size means the connection was
// lost (go-imap then reports a plain EOF): that is an error too, so a
// truncated message is never hashed and recorded as if whole.
func (w *Watcher) read(lit io.Reader, size int64, partial bool) (store.Message, error) {
	h := sha256.New()
	src := &countingReader{r: lit, h: h}
	var msg store.Message
	complete := func() error {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return fmt.Errorf("reading message: %w", err)
		}
		if src.err != nil {
			// The parser's error may only echo the connection's.
			return fmt.Errorf("reading message: %w", src.err)
		}
		if src.n != size {
			return fmt.Errorf("reading message: connection lost after %d of %d bytes: %w", src.n, size, io.ErrUnexpectedEOF)
		}
		return nil
	}
	if w.opts.FetchOnly {
		msg.Outcome = store.OutcomeUnrecognized
		return msg, complete()
	}
	rep, perr := w.parse(src, w.parseOptions(partial))
	if err := complete(); err != nil {
		return msg, err
	}
	h.Sum(msg.ContentHash[:0])
	msg.MessageID = messageID(src.head.Bytes())
	w.setOutcome(&msg, rep, perr)
	return msg, nil
}

// parse runs the parser, turning a panic into an error: a parser bug on one
// message must not stop the mailbox, and the literal must still be read to
// its end (go-imap's reader waits for that, and Close with it).
func (w *Watcher) parse(r io.Reader, opts dsn.Options) (rep *dsn.Report, err error) {
	defer func() {
		if v := recover(); v != nil {
			w.log.Error("the parser panicked; the message is kept as failed", "panic", v, "stack", string(debug.Stack()))
			rep, err = nil, fmt.Errorf("parser panicked: %v", v)
		}
	}()
	return w.opts.Parse(r, opts)
}

// countingReader hashes and counts what passes through and keeps the first
// bytes for the Message-ID. Its first error, EOF included, is final: the
// source is never read again after it (go-imap's reader goroutine owns the
// connection again once a literal has ended or failed).
type countingReader struct {
	r    io.Reader
	n    int64
	h    hash.Hash
	head bytes.Buffer
	err  error // the source's first error other than EOF
	done error // the first error returned, returned again on every Read
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.done != nil {
		return 0, c.done
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.h.Write(p[:n])
		if room := headerSniffLimit - c.head.Len(); room > 0 {
			c.head.Write(p[:min(n, room)])
		}
	}
	if err != nil {
		c.done = err
		if err != io.EOF {
			c.err = err
		}
	}
	return n, err
}

// messageID returns the Message-ID header field of a message's beginning,
// or "" when the header block holds none (or is cut before it).
func messageID(head []byte) string {
	const name = "message-id:"
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // end of the header block
		}
		if len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
			value := append([]byte(nil), line[len(name):]...)
			// RFC 5322 section 2.2.3: folded continuation lines.
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				var next []byte
				next, rest, _ = bytes.Cut(rest, []byte("\n"))
				value = append(value, bytes.TrimRight(next, "\r")...)
			}
			return string(bytes.TrimSpace(value))
		}
		head = rest
	}
	return ""
}
