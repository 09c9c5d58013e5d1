// Package export writes the suppression list in the formats campaign tools
// read: CSV with a header line, and JSON lines. `bounced suppressions export`
// and the HTTP API write the same bytes through it.
package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
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
	"manual", "evidence_message_id", "evidence_status", "evidence_diagnostic"}

// CSV writes every suppression in force, ordered by address, as CSV with the
// CSVColumns header. Times are RFC 3339 in UTC; an empty expires_at means
// permanent. Rows are written as they are read, so a failure may leave a
// partial export behind in w.
func CSV(ctx context.Context, l Lister, w io.Writer) error {
	cw := csv.NewWriter(w)
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
			sp.EvidenceMessageID, sp.EvidenceStatus, sp.EvidenceDiagnostic}); err != nil {
			return fmt.Errorf("writing CSV: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
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
