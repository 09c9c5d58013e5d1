package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-message"
)

// The returned original's header is read by scanHeader rather than by
// go-message: it is often the largest header of a bounce (dozens of
// Received and signature fields), and only a handful of its fields matter.

// originalFields are the fields of a returned original that Parse reads,
// besides the configured correlation headers, in lower case.
var originalFields = []string{"message-id", "from", "to", "subject", "return-path", "content-type", "content-transfer-encoding",
	"sender", "reply-to", "list-post", "list-owner", "list-help", "list-subscribe", "list-unsubscribe"}

// fieldSet returns the lower-case names scanHeader keeps: originalFields
// and the correlation headers.
func fieldSet(correlation []string) map[string]bool {
	keep := make(map[string]bool, len(originalFields)+len(correlation))
	for _, f := range originalFields {
		keep[f] = true
	}
	for _, f := range correlation {
		keep[strings.ToLower(f)] = true
	}
	return keep
}

// defaultKeep is the fieldSet of the correlation headers defaultKeepNames,
// the defaults as the package was loaded, made once.
var (
	defaultKeepNames = slices.Clone(DefaultCorrelationHeaders)
	defaultKeep      = fieldSet(defaultKeepNames)
)

// keepSet is fieldSet, without building the set again for the default
// correlation headers.
func keepSet(correlation []string) map[string]bool {
	if slices.Equal(correlation, defaultKeepNames) {
		return defaultKeep
	}
	return fieldSet(correlation)
}

// scanHeader reads a header block from br up to the blank line that ends it,
// or up to limit bytes, and returns the first value of each field named in
// keep (lower-case names), unfolded. Lines that are not fields are skipped;
// a line longer than br's buffer is skipped too. br is left at the start of
// the body. The error is that of br, never io.EOF.
func scanHeader(br *bufio.Reader, limit int, keep map[string]bool) (headerFields, error) {
	var (
		h       headerFields
		name    string
		value   []byte
		keeping bool
		read    int
		lower   [64]byte
	)
	flush := func() {
		if _, dup := h.value(name); keeping && !dup {
			h = append(h, field{name: name, value: string(bytes.TrimSpace(value))})
		}
		keeping, value = false, value[:0]
	}
	for read < limit {
		line, err := br.ReadSlice('\n')
		read += len(line)
		if err == bufio.ErrBufferFull {
			flush()
			for err == bufio.ErrBufferFull && read < limit { // skip the rest of the long line
				line, err = br.ReadSlice('\n')
				read += len(line)
			}
			if err == nil || err == bufio.ErrBufferFull {
				continue
			}
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case err == nil && len(trimmed) == 0: // the blank line: the body starts
			flush()
			return h, nil
		case len(trimmed) > 0 && (trimmed[0] == ' ' || trimmed[0] == '\t'):
			if keeping {
				value = append(append(value, ' '), bytes.TrimSpace(trimmed)...)
			}
		default:
			flush()
			colon := bytes.IndexByte(trimmed, ':')
			if colon > 0 && colon <= len(lower) {
				n := bytes.TrimRight(trimmed[:colon], " \t")
				for i, b := range n {
					if 'A' <= b && b <= 'Z' {
						b += 'a' - 'A'
					}
					lower[i] = b
				}
				if keep[string(lower[:len(n)])] {
					name, keeping = string(lower[:len(n)]), true
					value = append(value, trimmed[colon+1:]...)
				}
			}
		}
		if err != nil {
			flush()
			if err == io.EOF {
				err = nil
			}
			return h, err
		}
	}
	flush()
	return h, nil
}

// topFields are the fields of a bounce's own header (and of the parts'
// headers, see readPartHeader) that Parse reads. A name missing here reads
// as absent: add it here before reading it through collector.top.
var topFields = []string{
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
	"Subject", "From", "To", "Sender", "Return-Path", "Delivered-To", "X-Original-To", "Envelope-To",
	"X-Failed-Recipients", "X-Apple-Unsubscribe", "Auto-Submitted", "Precedence",
	"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation",
}

// errHeaderTooBig has the text go-message gives the same failure, so that
// Parse's errors read as they did when go-message read the header.
var errHeaderTooBig = errors.New("message: header exceeds maximum size")

// headerLimiter bounds the bytes read for a header block; the bound is
// lifted once the header is read, as go-message's ReadWithOptions does.
type headerLimiter struct {
	r    io.Reader
	left int64
}

func (l *headerLimiter) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errHeaderTooBig
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// entityReader reads the top-level entity of a message: it stands for
// go-message's ReadWithOptions, with the same buffering, limit and errors,
// but keeps only the fields in topFields (a bounce's header is mostly
// Received and signature fields nobody reads) and reuses its buffers.
type entityReader struct {
	limit   headerLimiter
	br      *bufio.Reader
	scratch []byte
}

var entityReaderPool = sync.Pool{New: func() any {
	e := &entityReader{}
	// go-message's default bufio size: where its multipart and header
	// readers break off on long lines depends on it.
	e.br = bufio.NewReaderSize(&e.limit, 4096)
	return e
}}

// readEntity reads the header of a message from r, at most maxBytes of it,
// and returns the entity with its decoded body. release gives the reader's
// buffers back; the entity's body is not to be read after it.
func readEntity(r io.Reader, maxBytes int64) (e *message.Entity, h headerFields, release func(), err error) {
	er := entityReaderPool.Get().(*entityReader)
	er.limit = headerLimiter{r: r, left: maxBytes}
	er.br.Reset(&er.limit)
	release = func() {
		er.limit.r = nil
		er.br.Reset(nil)
		entityReaderPool.Put(er)
	}
	h, err = readHeader(er.br, &er.scratch, topFields, maxBytes)
	if err != nil {
		return nil, nil, release, err
	}
	er.limit.left = math.MaxInt64
	e, err = message.New(h.entityHeader(), er.br)
	return e, h, release, err
}

// readHeader reads a header block from r the way go-message's
// textproto.ReadHeader does — the same reads from the buffer, the same
// errors — and returns the first value of each field named in fields
// (canonical names, matched regardless of case). Other fields are read
// past without being copied. Lines are collected in *scratch, which is
// kept for the next call.
func readHeader(r *bufio.Reader, scratch *[]byte, fields []string, maxBytes int64) (headerFields, error) {
	var h headerFields
	left := maxBytes
	// The first line cannot start with a leading space.
	if buf, err := r.Peek(1); err == nil && isSpace(buf[0]) {
		line, err := readLine(r, (*scratch)[:0], left)
		*scratch = line[:0]
		if err != nil {
			return h, err
		}
		return h, fmt.Errorf("message: malformed MIME header initial line: %v", string(line))
	}
	for {
		kv, err := readContinuedLine(r, (*scratch)[:0], left)
		if kv != nil {
			*scratch = kv[:0]
		}
		if len(kv) == 0 {
			return h, err
		}
		colon := bytes.IndexByte(kv, ':')
		if colon < 0 {
			return h, fmt.Errorf("message: malformed MIME header line: %v", string(kv))
		}
		key := bytes.Trim(kv[:colon], " \t")
		for _, c := range key {
			if c < 33 || c > 126 || c == ':' {
				return h, fmt.Errorf("message: malformed MIME header key: %v", string(key))
			}
		}
		// The size is checked after the line's form, as go-message does: a
		// line cut short by the limit is reported as malformed when it has
		// no colon, and the limit's error comes with the next read.
		if left -= int64(len(kv)); left < 0 {
			return h, errHeaderTooBig
		}
		if name := matchField(key, fields); name != "" {
			if _, dup := h.value(name); !dup {
				h = append(h, field{name: name, value: unfold(kv[colon+1:])})
			}
		}
	}
}

// matchField returns the name in fields that key is, ignoring ASCII case,
// or "". A key with other bytes than letters and hyphens matches none, as
// it would not under go-message's canonical keys either.
func matchField(key []byte, fields []string) string {
	for _, f := range fields {
		if len(f) == len(key) && asciiEqualFold(key, f) {
			return f
		}
	}
	return ""
}

// asciiEqualFold reports whether b and s, of the same length, are equal
// ignoring ASCII case.
func asciiEqualFold[T string | []byte](b T, s string) bool {
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// readLine appends one line of r to line, without its line end. A line
// that grows past maxBytes ends the read with errHeaderTooBig: a header line
// is held whole, so its length must be bounded whatever the input.
func readLine(r *bufio.Reader, line []byte, maxBytes int64) ([]byte, error) {
	for {
		l, more, err := r.ReadLine()
		line = append(line, l...)
		if err != nil || !more {
			return line, err
		}
		if int64(len(line)) > maxBytes {
			return line, errHeaderTooBig
		}
	}
}

// readContinuedLine reads one header field with its continuation lines,
// each line ended by CRLF, into buf. It returns nil and no error at the
// end of the input, nil and the error on a read error, and an empty slice
// for the blank line that ends the header.
func readContinuedLine(r *bufio.Reader, buf []byte, maxBytes int64) ([]byte, error) {
	line, err := readLine(r, buf, maxBytes)
	if err == io.EOF && len(line) == 0 {
		return nil, nil // a header without a body
	} else if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return line, nil
	}
	line = append(line, '\r', '\n')
	for hasContinuationLine(r) {
		if line, err = readLine(r, line, maxBytes); err == errHeaderTooBig {
			return nil, err
		} else if err != nil {
			break // bufio keeps the error for the next read
		}
		line = append(line, '\r', '\n')
	}
	return line, nil
}

func hasContinuationLine(r *bufio.Reader) bool {
	c, err := r.ReadByte()
	if err != nil {
		return false
	}
	_ = r.UnreadByte()
	return isSpace(c)
}

// unfold joins the lines of a field value with one space, dropping the
// white space around each line end and empty lines.
func unfold(v []byte) string {
	var b strings.Builder
	b.Grow(len(v))
	for line := range bytes.Lines(v) {
		line = bytes.TrimRight(line, "\n")
		line = bytes.TrimSuffix(line, []byte("\r"))
		line = bytes.Trim(line, " \t")
		if len(line) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(line)
	}
	return b.String()
}

// headerFields holds the first value of each header field a reader kept,
// unfolded, in the order read.
type headerFields []field

// value returns the value of the field named k and whether it is present.
// Names compare as go-message's canonical keys do: regardless of ASCII
// case, unless one holds a byte that is not a token byte.
func (h headerFields) value(k string) (string, bool) {
	for _, f := range h {
		if sameFieldName(f.name, k) {
			return f.value, true
		}
	}
	return "", false
}

func sameFieldName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if a == b {
		return true
	}
	return asciiEqualFold(a, b) && isToken(a) && isToken(b)
}

// isToken reports whether s holds only RFC 7230 token bytes, the names
// net/textproto.CanonicalMIMEHeaderKey changes the case of.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// entityHeader returns the fields go-message reads to decode a body and
// that the walk reads of an entity, as a message.Header.
func (h headerFields) entityHeader() message.Header {
	var mh message.Header
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		if v, ok := h.value(k); ok {
			mh.Add(k, v)
		}
	}
	return mh
}
