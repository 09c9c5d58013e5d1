package main

import (
	"context"
	"log/slog"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// openRecorder connects to the PostgreSQL store named by databaseURL (else
// the PG* variables), with the configured soft-bounce policy, and refuses an
// unmigrated or outdated schema (the error names `bounced migrate`).
// The pool holds at most db_max_conns sessions, named "bounced REPLICA"
// (pg_stat_activity.application_name). closeFn closes them.
func openRecorder(ctx context.Context, databaseURL string, cfg *config.Config, logger *slog.Logger) (recorder imapwatch.Recorder, closeFn func(), err error) {
	s, err := store.Open(ctx, databaseURL, store.WithPolicy(policyOf(cfg)), store.WithMaxConns(int32(cfg.DBMaxConns)),
		store.WithApplicationName("bounced "+cfg.ReplicaName()))
	if err != nil {
		return nil, nil, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, nil, err
	}
	p := s.Policy()
	logger.Info("store opened", "replica", cfg.ReplicaName(), "db_max_conns", cfg.DBMaxConns,
		"soft_threshold", p.SoftThreshold, "soft_window", p.SoftWindow, "soft_expiry", p.SoftExpiry)
	return s, s.Close, nil
}

// policyOf returns the store's default policy with what the configuration
// sets instead.
func policyOf(cfg *config.Config) store.Policy {
	p := store.DefaultPolicy
	if cfg.SoftThreshold > 0 {
		p.SoftThreshold = cfg.SoftThreshold
	}
	if cfg.SoftWindow > 0 {
		p.SoftWindow = cfg.SoftWindow
	}
	if cfg.SoftExpiry > 0 {
		p.SoftExpiry = cfg.SoftExpiry
	}
	return p
}
