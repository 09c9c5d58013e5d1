// Package export writes the suppression list in the formats campaign tools
// read: CSV with a header line, and JSON lines. `bounced suppressions export`
// and the HTTP API write the same bytes through it.
//
// Addresses and evidence come from bounces, which anyone can send: a CSV
// cell such as `=HYPERLINK("http://evil.example/")` would be a live formula
// in a spreadsheet. Every CSV cell bounced writes therefore goes through
// Cell (OWASP's rule against CSV injection); the JSON lines are written as
// stored.
package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/store"
)

// Lister is the part of the store an export reads. *store.Store implements it.
type Lister interface {
	EachSuppression(ctx context.Context, opts store.ListOptions, fn func(store.Suppression) error) error
}

// CSVColumns is the header line of the CSV export. The column names are a
// public interface: campaign tools import them.
var CSVColumns = []string{"address", "reason", "scope", "first_seen", "last_seen", "count", "expires_at",
	"manual", "evidence_message_id", "evidence_status", "evidence_diagnostic", "evidence_authenticity"}

// Cell returns s made safe as a CSV cell for spreadsheets: a value that
// starts with "=", "+", "-", "@", a tab or a carriage return, which a
// spreadsheet would read as a formula, gets a leading single quote
// (OWASP, "CSV Injection"). Other values are returned unchanged. Reading
// such a cell back, drop the quote to get the stored value.
func Cell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer whose every cell goes through Cell. Every CSV that
// bounced writes is written with one.
type Writer struct {
	w   *csv.Writer
	row []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell neutralised by Cell.
func (w *Writer) Write(record []string) error {
	w.row = w.row[:0]
	for _, c := range record {
		w.row = append(w.row, Cell(c))
	}
	return w.w.Write(w.row)
}

// Flush writes any buffered data and returns the error of any write so far.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// CSV writes every suppression in force, ordered by address, as CSV with the
// CSVColumns header. Times are RFC 3339 in UTC; an empty expires_at means
// permanent. Cells that a spreadsheet would take for a formula are prefixed
// with a single quote (Cell). Rows are written as they are read, so a
// failure may leave a partial export behind in w.
func CSV(ctx context.Context, l Lister, w io.Writer) error {
	cw := NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	err := l.EachSuppression(ctx, store.ListOptions{}, func(sp store.Suppression) error {
		expires := ""
		if sp.ExpiresAt != nil {
			expires = sp.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if err := cw.Write([]string{sp.Address, sp.Reason, sp.Scope, sp.FirstSeen.UTC().Format(time.RFC3339),
			sp.LastSeen.UTC().Format(time.RFC3339), strconv.Itoa(sp.Count), expires, strconv.FormatBool(sp.Manual),
			sp.EvidenceMessageID, sp.EvidenceStatus, sp.EvidenceDiagnostic, sp.EvidenceAuthenticity}); err != nil {
			return fmt.Errorf("writing CSV: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// JSONLines writes every suppression in force, ordered by address, as one
// JSON object (store.Suppression) per line.
func JSONLines(ctx context.Context, l Lister, w io.Writer) error {
	enc := json.NewEncoder(w)
	return l.EachSuppression(ctx, store.ListOptions{}, func(sp store.Suppression) error {
		if err := enc.Encode(sp); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	})
}
