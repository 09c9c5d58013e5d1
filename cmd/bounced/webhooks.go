package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/bounced/bounced/cmd/bounced/internal/webhook"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// startWebhooks starts one delivery loop per configured webhook, reading
// from the store behind rec, and returns a function that stops them and
// waits until they have (safe to call more than once). Each delivery is
// reported to obs (nil: to no one).
func startWebhooks(ctx context.Context, cfg *config.Config, rec imapwatch.Recorder, logger *slog.Logger, obs webhook.Observer) (stop func(), err error) {
	if len(cfg.Webhooks) == 0 {
		return func() {}, nil
	}
	// Webhooks read the suppression list: only the PostgreSQL store has
	// one (tests run `run` against other recorders, without webhooks).
	st, ok := rec.(*store.Store)
	if !ok {
		return nil, errors.New("webhooks need the PostgreSQL store")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range cfg.Webhooks {
		d := webhook.New(w, st, webhook.Options{Logger: logger, Observer: obs})
		wg.Go(func() { d.Run(ctx) })
	}
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	}), nil
}
