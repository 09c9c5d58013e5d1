package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
)

// reloadOnHangup re-reads the HTTP API's tokens each time the process gets
// SIGHUP, until ctx ends, so that a token can be rotated without a restart:
// add the new token to api_token_file (or the variable's service
// definition), send SIGHUP, move the clients over, remove the old one, send
// SIGHUP again. The status page, when given, takes the same tokens (its
// sessions signed in with a removed token end). api may be nil (the API is
// off): SIGHUP is then only logged, never the end of the process as it
// would be by default.
func reloadOnHangup(ctx context.Context, cfg *config.Config, api *httpapi.API, logger *slog.Logger, also ...tokenSetter) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadTokens(cfg, api, logger, also...)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}

// tokenSetter takes new API tokens: the status page.
type tokenSetter interface {
	SetTokens([]config.Secret) error
}

// reloadTokens reads the API's tokens again and hands them to api. When they
// cannot be read the API keeps the ones it has: a typo in the token file must
// not lock every client out.
func reloadTokens(cfg *config.Config, api *httpapi.API, logger *slog.Logger, also ...tokenSetter) {
	if api == nil {
		logger.Info("SIGHUP: nothing to reload (the HTTP API is off)")
		return
	}
	tokens, err := cfg.APIToken.Read()
	if err == nil {
		err = api.SetTokens(tokens)
	}
	for _, t := range also {
		if err == nil {
			err = t.SetTokens(tokens)
		}
	}
	if err != nil {
		logger.Error("SIGHUP: keeping the API tokens in use, the new ones cannot be read", "err", err)
		return
	}
	logger.Info("SIGHUP: API tokens reloaded", "tokens", len(tokens))
}
