package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/bounced/bounced/imapwatch"
)

// openRecorder connects to the store named by databaseURL and checks its
// schema. closeFn releases it.
//
// Placeholder until the store lands: the merge replaces this file with the
// store.Open and CheckSchema wiring.
func openRecorder(ctx context.Context, databaseURL string, logger *slog.Logger) (recorder imapwatch.Recorder, closeFn func(), err error) {
	return nil, nil, errors.New("opening the store: store not available in this build")
}
