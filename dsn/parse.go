package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers the charsets real bounces use (ISO-2022-JP, KOI8-R, windows-125x …)
)

// DefaultMaxSize is the default bound on the size of one message: 25 MiB.
const DefaultMaxSize = 25 << 20

// DefaultCorrelationHeaders are the headers of the original message kept by
// default, to tie a bounce back to the campaign and subscriber it belongs to.
var DefaultCorrelationHeaders = []string{"X-Campaign-Id", "X-Mailer-Recipient", "List-Id"}

// ErrTooLarge is returned by Parse when a message exceeds Options.MaxSize.
var ErrTooLarge = errors.New("dsn: message exceeds the size limit")

// Bounds that keep memory independent of the message size: whatever a part
// holds beyond them is read and thrown away, never kept.
const (
	maxDepth         = 20        // MIME nesting followed; deeper parts are skipped
	maxParts         = 500       // MIME parts looked at in one message
	maxHeaderBytes   = 256 << 10 // one header block (top-level or of a part)
	maxTextBytes     = 96 << 10  // human-readable text kept, all parts together
	maxStatusBytes   = 512 << 10 // delivery-status bodies kept, all parts together; a feedback report's body
	maxOriginalBytes = 64 << 10  // of an inline returned original, for its headers
)

// Options tunes Parse. The zero value uses the defaults.
type Options struct {
	// MaxSize bounds the bytes read from the message; 0 means DefaultMaxSize.
	// A longer message is an error wrapping ErrTooLarge.
	MaxSize int64
	// CorrelationHeaders names the original-message headers to keep;
	// nil means DefaultCorrelationHeaders.
	CorrelationHeaders []string
	// Truncated says the caller passes only the first part of a larger
	// message (an IMAP partial fetch): an early end of the input is then
	// expected, and Parse classifies what it got instead of failing.
	Truncated bool
}

// Parse reads one raw RFC 5322 message and reports what it says about the
// delivery of an earlier message. It streams: memory stays bounded whatever
// the size of the message's attachments.
//
// A message that is not a bounce yields a Report of KindUnrecognized, not an
// error. Errors are reserved for input that cannot be read: ErrTooLarge, a
// header block that is not RFC 5322, or an error of the reader.
func Parse(r io.Reader, opts Options) (*Report, error) {
	return parse(r, opts, 0)
}

// maxNesting bounds how deep bounces forwarded inside bounces are followed.
const maxNesting = 2

// parse is Parse for a message found nesting levels deep inside another.
func parse(r io.Reader, opts Options, nesting int) (*Report, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.CorrelationHeaders == nil {
		opts.CorrelationHeaders = DefaultCorrelationHeaders
	}
	lr := &limitReader{r: r, left: opts.MaxSize}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	if err := skipMboxFromLine(br); err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}

	top, topHeader, release, err := readEntity(br, maxHeaderBytes)
	defer release()
	if err != nil && !isDecodeProblem(err) {
		if lr.exceeded {
			return nil, fmt.Errorf("reading header: %w (%d bytes)", ErrTooLarge, opts.MaxSize)
		}
		return nil, fmt.Errorf("reading message header: %w", err)
	}
	c := collector{opts: opts, input: lr, nesting: nesting, keep: keepSet(opts.CorrelationHeaders)}
	textBuf := getBuf()
	c.text = *textBuf
	defer func() {
		*textBuf = c.text
		putBuf(textBuf)
	}()
	c.top = newHeaderView(topHeader)
	// A walk error means the MIME structure broke off (a missing boundary,
	// broken base64): what was found up to there still counts.
	_ = c.walk(top, 0)
	// Read what the walk left unread, so that the size bound holds for the
	// whole message and an input error is not mistaken for a short message.
	_, _ = io.Copy(io.Discard, br)
	if lr.exceeded {
		return nil, fmt.Errorf("parsing message: %w (%d bytes)", ErrTooLarge, opts.MaxSize)
	}
	if lr.readErr != nil && !opts.Truncated {
		return nil, fmt.Errorf("reading message: %w", lr.readErr)
	}
	return c.report(), nil
}

// readerPool holds the buffered readers messages are read through.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// skipMboxFromLine drops the "From sender date" line that mbox files and
// some mail stores put before the header.
func skipMboxFromLine(br *bufio.Reader) error {
	head, err := br.Peek(5)
	if err != nil || string(head) != "From " {
		return nil // a short message is left for the header parser to judge
	}
	for {
		_, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
}

// limitReader reads at most left bytes and remembers whether the input was
// longer, and any error of the underlying reader.
type limitReader struct {
	r        io.Reader
	left     int64
	exceeded bool
	readErr  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe one byte: input that ends exactly at the limit is fine.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, ErrTooLarge
		}
		if err == nil {
			err = io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.readErr = err
	}
	return n, err
}

// isDecodeProblem reports whether err only says that a charset or transfer
// encoding is unknown: go-message then still returns a readable entity.
func isDecodeProblem(err error) bool {
	return message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)
}

// collector gathers, during one walk over the MIME tree, the pieces the
// report is made of. Every buffer in it is bounded.
type collector struct {
	opts    Options
	input   *limitReader
	nesting int             // how many bounces this message is forwarded inside
	keep    map[string]bool // the header fields of a returned original that are read
	top     headerView

	parts        int
	reportType   string   // report-type of the outermost multipart/report
	statusBlocks []string // bodies of message/delivery-status parts
	statusBytes  int      // their length together, at most maxStatusBytes
	// recipientsDropped counts the Final-Recipient fields of the
	// delivery-status text beyond maxStatusBytes.
	recipientsDropped int
	feedback          string // body of the message/feedback-report part
	text              []byte // human-readable text, before any returned original
	textTruncated     bool
	original          *headerView // header of the returned original, if any

	contexts []addrContext   // contextFor's results, per address
	own      map[string]bool // ownAddresses of the report, once asked for
	senders  map[string]bool // senderAddresses of the report, once asked for
}

// walk visits one entity and its descendants.
func (c *collector) walk(e *message.Entity, depth int) error {
	c.parts++
	if depth > maxDepth || c.parts > maxParts {
		return nil
	}
	mediaType, params, _ := e.Header.ContentType()
	// A malformed Content-Type comes back whole: keep only the type/subtype.
	if i := strings.IndexAny(mediaType, "; \t"); i >= 0 {
		mediaType = mediaType[:i]
	}
	mediaType = strings.ToLower(mediaType)
	if mediaType == "" {
		mediaType = "text/plain"
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if mediaType == "multipart/report" && c.reportType == "" {
			c.reportType = strings.ToLower(params["report-type"])
		}
		// Keep the start of the raw body: a multipart whose boundary never
		// appears (broken, or mistyped by the server) is read as text.
		body, raw := e.Body, (*capBuffer)(nil)
		if depth == 0 {
			rawBuf := getBuf()
			raw = &capBuffer{limit: maxTextBytes, buf: *rawBuf}
			defer func() {
				*rawBuf = raw.buf
				putBuf(rawBuf)
			}()
			body = io.TeeReader(e.Body, raw)
		}
		mr := newMultipartReader(body, params["boundary"])
		defer mr.release()
		found := 0
		for {
			p, h, err := mr.next()
			if err != nil {
				if found == 0 && raw != nil {
					c.addText(raw.buf)
				}
				if err == io.EOF {
					return nil
				}
				return err // a broken multipart body: keep what was found
			}
			found++
			if raw != nil {
				raw.limit = 0 // the boundary works: no need for the raw text
			}
			part, err := message.New(h.entityHeader(), p)
			if err != nil && !isDecodeProblem(err) {
				continue
			}
			if err := c.walk(part, depth+1); err != nil {
				return err
			}
		}
	case mediaType == "message/delivery-status" || mediaType == "message/global-delivery-status":
		body, dropped, err := readStatus(e.Body, maxStatusBytes-c.statusBytes)
		c.statusBlocks = append(c.statusBlocks, body)
		c.statusBytes += len(body)
		c.recipientsDropped += dropped
		return c.inputErr(err)
	case mediaType == "message/feedback-report":
		body, err := readCapped(e.Body, maxStatusBytes)
		c.feedback = body
		return c.inputErr(err)
	case mediaType == "message/rfc822" || mediaType == "message/global" ||
		mediaType == "text/rfc822-headers" || mediaType == "message/rfc822-headers" ||
		mediaType == "message/global-headers":
		if c.original != nil {
			return nil
		}
		br := readerPool.Get().(*bufio.Reader)
		br.Reset(e.Body)
		defer func() {
			br.Reset(nil)
			readerPool.Put(br)
		}()
		h, err := scanHeader(br, maxHeaderBytes, c.keep)
		if err != nil {
			return c.inputErr(err) // a malformed returned original is not the bounce's fault
		}
		hv := newHeaderView(h)
		if len(c.statusBlocks) == 0 && c.feedback == "" && isBounceHeader(hv) && !strings.HasPrefix(mediaType, "text/") {
			// A bounce forwarded as an attachment: read the bounce inside.
			inner, err := message.New(h.entityHeader(), br)
			if err != nil && !isDecodeProblem(err) {
				return nil
			}
			return c.walk(inner, depth+1)
		}
		c.original = &hv
		return nil
	case mediaType == "text/plain" || mediaType == "text/html" || mediaType == "text/enriched":
		if isAttachment(e) && depth > 0 && len(c.text) > 0 {
			return nil
		}
		bp := getBuf()
		defer putBuf(bp)
		body, err := readCappedInto((*bp)[:0], e.Body, maxTextBytes-len(c.text))
		*bp = body
		if mediaType == "text/html" {
			if len(c.text) > 0 {
				return c.inputErr(err) // the plain-text alternative was already taken
			}
			body = []byte(htmlToText(string(body)))
		}
		c.addText(body)
		return c.inputErr(err)
	}
	return nil
}

// inputErr passes on err only when the input itself failed (a read error or
// the size bound); a part whose encoding is broken is read as far as it goes.
func (c *collector) inputErr(err error) error {
	if err != nil && (c.input.exceeded || c.input.readErr != nil) {
		return err
	}
	return nil
}

// addText appends s to the text, after a line break, with CRLF line ends
// made LF (one line-end convention for the text rules), up to
// maxTextBytes.
func (c *collector) addText(s []byte) {
	if len(s) == 0 {
		return
	}
	if len(c.text) > 0 {
		c.text = append(c.text, '\n')
	}
	for len(s) > 0 {
		chunk := s
		if i := bytes.Index(s, crlf); i >= 0 {
			chunk, s = s[:i], s[i+1:] // drop the CR; the LF opens the next chunk
		} else {
			s = nil
		}
		if room := maxTextBytes - len(c.text); len(chunk) > room {
			c.text = append(c.text, chunk[:max(room, 0)]...)
			c.textTruncated = true
			return
		}
		c.text = append(c.text, chunk...)
	}
}

var crlf = []byte("\r\n")

// isAttachment reports whether a part declares itself an attachment.
func isAttachment(e *message.Entity) bool {
	disp, _, _ := e.Header.ContentDisposition()
	return strings.EqualFold(disp, "attachment")
}

// scratchPool holds read buffers, so that parsing many messages does not
// allocate one per part.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// bufPool holds the growing buffers parts are collected in. They are
// bounded by the caps on what is kept (maxStatusBytes at most).
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

// readCapped reads r to its end and returns at most limit bytes of it as a
// string; the rest is discarded. Read errors are returned along with what
// was read.
func readCapped(r io.Reader, limit int) (string, error) {
	bp := getBuf()
	defer putBuf(bp)
	kept, err := readCappedInto((*bp)[:0], r, limit)
	*bp = kept
	return string(kept), err
}

// readCappedInto is readCapped appending to dst.
func readCappedInto(dst []byte, r io.Reader, limit int) ([]byte, error) {
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	scratch := *bp
	end := len(dst) + limit
	for {
		n, err := r.Read(scratch)
		if room := end - len(dst); room > 0 && n > 0 {
			dst = append(dst, scratch[:min(n, room)]...)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// readStatus reads a delivery-status body to its end and keeps at most
// limit bytes of it. A body longer than that is cut where its last whole
// field group ends (else where its last Final-Recipient field starts), so
// that no recipient is read from half its fields; the Final-Recipient
// fields of what was not kept are counted as dropped.
func readStatus(r io.Reader, limit int) (kept string, dropped int, err error) {
	bp := getBuf()
	defer putBuf(bp)
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	buf, scratch := (*bp)[:0], *sp
	over := false
	count := lineCounter{prefix: "final-recipient:"}
	for {
		n, rerr := r.Read(scratch)
		chunk := scratch[:n]
		if room := limit - len(buf); room > 0 && !over {
			take := min(len(chunk), room)
			buf, chunk = append(buf, chunk[:take]...), chunk[take:]
		}
		if len(chunk) > 0 && !over {
			over = true
			cut := statusCut(buf)
			count.write(buf[cut:])
			buf = buf[:cut]
		}
		count.write(chunk)
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			*bp = buf
			return string(buf), count.n, rerr
		}
	}
}

// statusCut returns where to cut delivery-status text that goes on beyond
// b, so that what follows starts at a line and no recipient is kept
// without the rest of its fields: at the start of the last recipient's
// fields, which start after the last blank line (RFC 3464 groups) or, where
// a server leaves out the blank lines, at its Final-Recipient field (or the
// Original-Recipient just before it).
func statusCut(b []byte) int {
	cut := 0
	for i := len(b) - 1; i > 0; i-- {
		j := i - 1 // b[i] ends a line; is the line before it blank?
		if j >= 0 && b[j] == '\r' {
			j--
		}
		if b[i] == '\n' && (j < 0 || b[j] == '\n') {
			cut = i + 1
			break
		}
	}
	group := asciiLower(string(b[cut:]))
	i := strings.LastIndex(group, "\nfinal-recipient:")
	if i < 0 {
		return cut
	}
	start := i + 1
	if prev := strings.LastIndexByte(group[:i], '\n') + 1; strings.HasPrefix(group[prev:], "original-recipient:") {
		start = prev
	}
	return cut + start
}

// lineCounter counts the lines written to it, across writes, that start
// with prefix (lower case), ignoring ASCII case. Writing starts at the
// start of a line.
type lineCounter struct {
	prefix  string
	matched int // bytes of prefix the current line has matched; -1: it cannot
	n       int
}

func (l *lineCounter) write(p []byte) {
	for len(p) > 0 {
		if l.matched < 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p, l.matched = p[i+1:], 0
			continue
		}
		c := p[0]
		p = p[1:]
		switch {
		case c == '\n':
			l.matched = 0
		case lowerByte(c) == l.prefix[l.matched]:
			if l.matched++; l.matched == len(l.prefix) {
				l.n++
				l.matched = -1
			}
		default:
			l.matched = -1
		}
	}
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// capBuffer keeps the first limit bytes written to it and counts the rest.
type capBuffer struct {
	limit int
	buf   []byte
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.limit - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
