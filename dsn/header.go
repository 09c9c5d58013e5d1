package dsn

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message"
)

// The returned original's header is read by scanHeader rather than by
// go-message: it is often the largest header of a bounce (dozens of
// Received and signature fields), and only a handful of its fields matter.

// originalFields are the fields of a returned original that Parse reads,
// besides the configured correlation headers, in lower case.
var originalFields = []string{"message-id", "from", "to", "subject", "content-type", "content-transfer-encoding"}

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

// scanHeader reads a header block from br up to the blank line that ends it,
// or up to limit bytes, and returns the first value of each field named in
// keep (lower-case names), unfolded. Lines that are not fields are skipped;
// a line longer than br's buffer is skipped too. br is left at the start of
// the body. The error is that of br, never io.EOF.
func scanHeader(br *bufio.Reader, limit int, keep map[string]bool) (message.Header, error) {
	var (
		h       message.Header
		name    string
		value   []byte
		keeping bool
		read    int
		lower   [64]byte
	)
	flush := func() {
		if keeping && !h.Has(name) {
			h.Add(name, string(bytes.TrimSpace(value)))
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
