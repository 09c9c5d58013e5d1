package dsn

import (
	"errors"
	"io"
)

// DefaultMaxSize is the default bound on the size of one message: 25 MiB.
const DefaultMaxSize = 25 << 20

// DefaultCorrelationHeaders are the headers of the original message kept by
// default, to tie a bounce back to the campaign and subscriber it belongs to.
var DefaultCorrelationHeaders = []string{"X-Campaign-Id", "X-Mailer-Recipient", "List-Id"}

// ErrTooLarge is returned by Parse when a message exceeds Options.MaxSize.
var ErrTooLarge = errors.New("dsn: message exceeds the size limit")

// Options tunes Parse. The zero value uses the defaults.
type Options struct {
	// MaxSize bounds the bytes read from the message; 0 means DefaultMaxSize.
	MaxSize int64
	// CorrelationHeaders names the original-message headers to keep;
	// nil means DefaultCorrelationHeaders.
	CorrelationHeaders []string
}

// Parse reads one raw RFC 5322 message and reports what it says about the
// delivery of an earlier message. A message that is not a bounce yields a
// Report of KindUnrecognized, not an error; errors are reserved for input that
// cannot be read (ErrTooLarge, a broken header block, a read error).
func Parse(r io.Reader, opts Options) (*Report, error) {
	return &Report{Kind: KindUnrecognized}, nil
}
