package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// multipartReader reads the parts of a multipart body (RFC 2046 section
// 5.1). It behaves as go-message's textproto.MultipartReader does, which
// Parse used before — the same boundary rules, the same tolerance of LF
// line ends and of a preamble, the same 4 KiB buffer and so the same
// failures on lines that do not fit it — because what counts as a part
// decides what a bounce says. It differs in cost: its buffer is pooled,
// and of each part's header it keeps only partFields. And it bounds a
// part's header to maxHeaderBytes, which go-message does not: a longer one
// ends the parts with errHeaderTooBig rather than being held in memory.
// TestMultipartMatchesGoMessage and FuzzMultipart hold it to that.
type multipartReader struct {
	src     stickyReader
	br      *bufio.Reader
	scratch []byte // header lines

	cur       *mimePart
	partsRead int

	delims []byte // "\r\n--boundary--", which the fields below slice
	// nl is the line end between a part and the next delimiter: CRLF, or
	// LF once the first delimiter line ends in a bare LF.
	nl             []byte
	nlDashBoundary []byte // nl + "--boundary": where a part's body ends
	dashBoundary   []byte // "--boundary": a delimiter line
	closeDelim     []byte // "--boundary--": the close delimiter line
}

// partFields are the fields of a part's header that the walk reads.
var partFields = []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"}

// mimeBufferSize is go-message's buffer size, which decides where a line
// too long for the buffer breaks the body off.
const mimeBufferSize = 4096

var multipartPool = sync.Pool{New: func() any {
	m := &multipartReader{}
	m.br = bufio.NewReaderSize(&m.src, mimeBufferSize)
	return m
}}

// newMultipartReader returns a reader of the parts of r, delimited by
// boundary. Release it when done; its parts are not to be read after.
func newMultipartReader(r io.Reader, boundary string) *multipartReader {
	m := multipartPool.Get().(*multipartReader)
	m.src = stickyReader{r: r}
	m.br.Reset(&m.src)
	m.cur, m.partsRead = nil, 0
	m.delims = append(append(append(m.delims[:0], "\r\n--"...), boundary...), "--"...)
	n := len(m.delims)
	m.nl = m.delims[:2]
	m.nlDashBoundary = m.delims[:n-2]
	m.dashBoundary = m.delims[2 : n-2]
	m.closeDelim = m.delims[2:]
	return m
}

// release gives the reader back to the pool.
func (m *multipartReader) release() {
	m.src = stickyReader{}
	m.br.Reset(&m.src)
	m.cur = nil
	multipartPool.Put(m)
}

// stickyReader stops reading its source once the source failed: the
// multipart reader reads on after an error, and io.Reader promises
// nothing about reads after one.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	var n int
	n, s.err = s.r.Read(p)
	return n, s.err
}

// next returns the next part, io.EOF after the last one, or an error if
// the body breaks off or does not follow the multipart syntax. The
// previous part's body is read to its end first.
func (m *multipartReader) next() (*mimePart, headerFields, error) {
	if m.cur != nil {
		_, _ = io.Copy(io.Discard, m.cur)
		m.cur = nil
	}
	if len(m.dashBoundary) == 2 {
		return nil, nil, errors.New("multipart: boundary is empty")
	}
	sawLineEnd := false
	for {
		line, err := m.br.ReadSlice('\n')
		switch {
		case err == io.EOF && m.isCloseDelimiter(line):
			return nil, nil, io.EOF // "--boundary--" without a line end ends the input
		case err != nil:
			return nil, nil, fmt.Errorf("multipart: NextPart: %w", err)
		case m.isDelimiter(line):
			m.partsRead++
			h, err := readHeader(m.br, &m.scratch, partFields, maxHeaderBytes)
			if err != nil {
				return nil, nil, err
			}
			m.cur = &mimePart{m: m}
			return m.cur, h, nil
		case m.isCloseDelimiter(line):
			return nil, nil, io.EOF
		case sawLineEnd:
			return nil, nil, fmt.Errorf("multipart: expecting a new part; got line %q", line)
		case m.partsRead == 0:
			continue // the preamble
		case bytes.Equal(line, m.nl):
			// The line end that belongs to the delimiter after a part
			// whose body ended right at a line end.
			sawLineEnd = true
			continue
		default:
			return nil, nil, fmt.Errorf("multipart: unexpected line in Next(): %q", line)
		}
	}
}

// isCloseDelimiter reports whether line is "--boundary--", optionally
// followed by spaces or tabs and a line end.
func (m *multipartReader) isCloseDelimiter(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, m.closeDelim)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || bytes.Equal(rest, m.nl)
}

// isDelimiter reports whether line is "--boundary", optionally followed by
// spaces or tabs, and a line end. A first delimiter ending in a bare LF
// switches the reader to LF line ends.
func (m *multipartReader) isDelimiter(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, m.dashBoundary)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if m.partsRead == 0 && len(rest) == 1 && rest[0] == '\n' {
		m.nl = m.nl[1:]
		m.nlDashBoundary = m.nlDashBoundary[1:]
	}
	return bytes.Equal(rest, m.nl)
}

// mimePart is the raw body of one part, up to the next delimiter.
type mimePart struct {
	m       *multipartReader
	ready   int   // body bytes known to be in the buffer, not yet read
	total   int64 // body bytes read so far
	err     error // what Read returns once ready is used up
	readErr error // the error of filling the buffer, if any
}

func (p *mimePart) Read(d []byte) (int, error) {
	br := p.m.br
	// Find body bytes in the buffer, reading more until some are safe to
	// return or the body ends.
	for p.ready == 0 && p.err == nil {
		buf, _ := br.Peek(br.Buffered())
		p.ready, p.err = p.m.bodyBytes(buf, p.total, p.readErr)
		if p.ready == 0 && p.err == nil {
			_, p.readErr = br.Peek(len(buf) + 1)
			if p.readErr == io.EOF {
				p.readErr = io.ErrUnexpectedEOF // a part must end at a delimiter
			}
		}
	}
	if p.ready == 0 {
		return 0, p.err
	}
	n, _ := br.Read(d[:min(len(d), p.ready)])
	p.total += int64(n)
	p.ready -= n
	if p.ready == 0 {
		return n, p.err
	}
	return n, nil
}

// bodyBytes returns how many bytes at the start of buf belong to the
// current part's body, and the error to return after them: io.EOF when a
// delimiter follows them. total is the number of body bytes already read,
// readErr the error that ended filling buf. Bytes that may be the start of
// a delimiter are held back until more input decides.
func (m *multipartReader) bodyBytes(buf []byte, total int64, readErr error) (int, error) {
	if total == 0 {
		// An empty body: the delimiter follows the header at once.
		if bytes.HasPrefix(buf, m.dashBoundary) {
			switch delimiterEnds(buf, m.dashBoundary, readErr) {
			case -1:
				return len(m.dashBoundary), nil
			case 0:
				return 0, nil
			default:
				return 0, io.EOF
			}
		}
		if bytes.HasPrefix(m.dashBoundary, buf) {
			return 0, readErr
		}
	}
	if i := bytes.Index(buf, m.nlDashBoundary); i >= 0 {
		switch delimiterEnds(buf[i:], m.nlDashBoundary, readErr) {
		case -1:
			return i + len(m.nlDashBoundary), nil
		case 0:
			return i, nil
		default:
			return i, io.EOF
		}
	}
	if bytes.HasPrefix(m.nlDashBoundary, buf) {
		return 0, readErr
	}
	// Up to the last line start everything is body; from there on too,
	// unless it could still become a delimiter.
	if i := bytes.LastIndexByte(buf, m.nlDashBoundary[0]); i >= 0 && bytes.HasPrefix(m.nlDashBoundary, buf[i:]) {
		return i, nil
	}
	return len(buf), readErr
}

// delimiterEnds decides whether buf, which starts with delim, holds a
// delimiter: +1 if delim is followed by white space, a line end, a hyphen
// or the end of the input; -1 if by anything else ("--foobar" is not
// "--foo"); 0 if more input is needed to tell.
func delimiterEnds(buf, delim []byte, readErr error) int {
	if len(buf) == len(delim) {
		if readErr != nil {
			return +1
		}
		return 0
	}
	switch buf[len(delim)] {
	case ' ', '\t', '\r', '\n', '-':
		return +1
	}
	return -1
}
