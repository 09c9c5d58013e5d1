package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Policy is the list-hygiene policy for soft bounces (DESIGN.md, verdict
// soft): an address is suppressed after SoftThreshold soft bounces within
// SoftWindow, and that suppression expires SoftExpiry after the last of them.
type Policy struct {
	SoftThreshold int
	SoftWindow    time.Duration
	SoftExpiry    time.Duration
}

// DefaultPolicy is the policy of DESIGN.md: 3 soft bounces within 14 days
// suppress an address for 30 days.
var DefaultPolicy = Policy{SoftThreshold: 3, SoftWindow: 14 * 24 * time.Hour, SoftExpiry: 30 * 24 * time.Hour}

func (p Policy) validate() error {
	switch {
	case p.SoftThreshold < 1:
		return fmt.Errorf("soft threshold %d: must be at least 1", p.SoftThreshold)
	case p.SoftWindow <= 0:
		return fmt.Errorf("soft window %s: must be positive", p.SoftWindow)
	case p.SoftExpiry <= 0:
		return fmt.Errorf("soft expiry %s: must be positive", p.SoftExpiry)
	}
	return nil
}

// Option configures a Store.
type Option func(*Store)

// WithPolicy sets the soft-bounce policy; the default is DefaultPolicy.
func WithPolicy(p Policy) Option { return func(s *Store) { s.policy = p } }

// WithClock sets the clock the store reads "now" from (record times,
// expiries, report windows); the default is time.Now. Tests inject one.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithMaxConns bounds the connection pool; the default is pgxpool's
// (the greater of 4 and the number of CPUs).
func WithMaxConns(n int32) Option { return func(s *Store) { s.maxConns = n } }

// WithApplicationName names the store's sessions (application_name, shown
// in pg_stat_activity), so that an operator sees which replica holds which.
// An application_name in the database URL wins.
func WithApplicationName(name string) Option { return func(s *Store) { s.appName = name } }

// Store keeps bounced's records in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	policy   Policy
	now      func() time.Time
	maxConns int32
	appName  string
}

// Open connects to PostgreSQL and returns a Store. databaseURL is a
// PostgreSQL URL or keyword/value string; when it is empty the DATABASE_URL
// environment variable is used, and when that is empty too, the libpq PG*
// variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD...). Open checks
// that the server answers but not the schema: see CheckSchema.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	s := &Store{policy: DefaultPolicy, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := s.policy.validate(); err != nil {
		return nil, fmt.Errorf("opening store: policy: %w", err)
	}
	if databaseURL == "" {
		databaseURL = os.Getenv("DATABASE_URL")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgconn redacts the password from its parse errors.
		return nil, fmt.Errorf("opening store: parsing database URL: %w", err)
	}
	if s.maxConns > 0 {
		cfg.MaxConns = s.maxConns
	}
	if _, set := cfg.ConnConfig.RuntimeParams["application_name"]; !set && s.appName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = s.appName
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: %s:%d database %q as %q: %w", ErrUnreachable,
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User, err)
	}
	s.pool = pool
	return s, nil
}

// ErrUnreachable is returned by Open when the database does not answer.
var ErrUnreachable = errors.New("cannot connect to PostgreSQL")

// Close closes all connections.
func (s *Store) Close() {
	s.pool.Close()
}

// Pool returns the underlying connection pool, for Migrate and for callers
// that need a plain query (health checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Policy returns the soft-bounce policy in use.
func (s *Store) Policy() Policy { return s.policy }

// clock returns the store's current time, truncated to what PostgreSQL
// keeps (microseconds) so that values read back compare equal.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
