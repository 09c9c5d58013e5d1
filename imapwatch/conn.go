package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/config"
)

// ErrAuth marks an authentication failure: retrying at once will not help.
var ErrAuth = errors.New("imapwatch: authentication failed")

// ErrConfig marks a failure caused by the mailbox's configuration (an
// unreadable password or CA file, plaintext to a remote host): retrying
// will not help until the configuration changes.
var ErrConfig = errors.New("configuration error")

// ErrTimeout marks a network step that took longer than the mailbox's timeout.
var ErrTimeout = errors.New("imapwatch: network step timed out")

// session is one logged-in IMAP connection. go-imap has no context: the
// session closes the client when ctx is done, and a watchdog closes it when a
// network step makes no progress for the timeout. (Deadlines set on the
// net.Conn would not hold: go-imap resets them itself around every read and
// write. The dial and the TLS handshake, before go-imap has the connection,
// use the context and the timeout directly.)
type session struct {
	c        *imapclient.Client
	timeout  time.Duration
	timedOut atomic.Bool
	stopCtx  func() bool
	watchdog *time.Timer // of the running step; steps run one at a time
}

// step runs one network step under the watchdog. If the step outlives the
// timeout (counted from its start or its last progress call) the connection
// is closed and the step's error wraps ErrTimeout.
func (s *session) step(what string, f func() error) error {
	s.watchdog = time.AfterFunc(s.timeout, func() {
		s.timedOut.Store(true)
		s.c.Close()
	})
	err := f()
	s.watchdog.Stop()
	if err != nil {
		if s.timedOut.Load() {
			return fmt.Errorf("%s: %w after %s (%v)", what, ErrTimeout, s.timeout, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// progress restarts the running step's watchdog: a long FETCH that keeps
// delivering messages is not stuck.
func (s *session) progress() {
	if s.watchdog != nil {
		s.watchdog.Reset(s.timeout)
	}
}

// close logs out politely, bounded by the timeout, and releases the client.
func (s *session) close() {
	if s.stopCtx != nil {
		s.stopCtx()
	}
	_ = s.step("logging out", func() error { return s.c.Logout().Wait() })
	s.c.Close()
}

// caps returns the server's capabilities as known after login.
func (s *session) caps() imap.CapSet {
	caps := s.c.Caps()
	if caps == nil {
		return imap.CapSet{}
	}
	return caps
}

// tlsConfig builds the TLS configuration of a mailbox: verification on,
// against ca_file when given.
func tlsConfig(m config.Mailbox, logger *slog.Logger) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(m.Address)
	if err != nil {
		return nil, fmt.Errorf("reading address: %w", err)
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if m.ServerName != "" {
		cfg.ServerName = m.ServerName
	}
	if m.CAFile != "" {
		pool, err := config.LoadCAFile(m.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if m.InsecureSkipVerify {
		logger.Warn("TLS certificate verification is OFF for this mailbox (insecure_skip_verify): anyone on the path can read the password")
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// dial connects, secures the connection as configured, waits for the
// greeting and authenticates. handler may be nil. The returned session is
// closed when ctx is done.
func dial(ctx context.Context, m config.Mailbox, tokens *config.TokenSource, handler *imapclient.UnilateralDataHandler, logger *slog.Logger) (*session, error) {
	if m.TLS == config.TLSNone {
		host, _, _ := net.SplitHostPort(m.Address)
		if !m.AllowPlaintext && !config.IsLoopback(host) {
			return nil, fmt.Errorf("connecting to %s: %w: refusing plaintext IMAP to a non-loopback host (allow_plaintext)", m.Address, ErrConfig)
		}
	}
	var tlsCfg *tls.Config
	if m.TLS != config.TLSNone {
		var err error
		if tlsCfg, err = tlsConfig(m, logger); err != nil {
			return nil, fmt.Errorf("connecting to %s: %w: %w", m.Address, ErrConfig, err)
		}
	}

	dctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", m.Address)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", m.Address, err)
	}
	if m.TLS == config.TLSImplicit {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", m.Address, err)
		}
		conn = tc
	}

	opts := &imapclient.Options{TLSConfig: tlsCfg, UnilateralDataHandler: handler}
	s := &session{timeout: m.Timeout}
	if m.TLS == config.TLSStartTLS {
		// NewStartTLS reads the greeting and upgrades; bound it by
		// closing the raw connection when it takes too long.
		t := time.AfterFunc(m.Timeout, func() { s.timedOut.Store(true); conn.Close() })
		c, err := imapclient.NewStartTLS(conn, opts)
		t.Stop()
		if err != nil {
			conn.Close()
			if s.timedOut.Load() {
				err = fmt.Errorf("%w after %s (%v)", ErrTimeout, m.Timeout, err)
			}
			return nil, fmt.Errorf("STARTTLS with %s: %w", m.Address, err)
		}
		s.c = c
	} else {
		s.c = imapclient.New(conn, opts)
		if err := s.step("waiting for the greeting", s.c.WaitGreeting); err != nil {
			s.c.Close()
			return nil, err
		}
	}
	s.stopCtx = context.AfterFunc(ctx, func() { s.c.Close() })

	if err := s.login(ctx, m, tokens); err != nil {
		s.stopCtx()
		s.c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("logging in: %w", ctx.Err())
		}
		return nil, err
	}
	return s, nil
}

// login authenticates with the configured method. An XOAUTH2 token the server
// refuses is dropped and the login tried once more with a fresh one.
func (s *session) login(ctx context.Context, m config.Mailbox, tokens *config.TokenSource) error {
	switch m.Auth {
	case config.AuthXOAUTH2:
		for attempt := 0; ; attempt++ {
			token, err := tokens.Token(ctx)
			if err != nil {
				return fmt.Errorf("logging in as %s: %w", m.Username, err)
			}
			a := &xoauth2Auth{username: m.Username, token: token.Reveal()}
			err = s.step("logging in", func() error { return s.c.Authenticate(a) })
			if err == nil {
				return nil
			}
			if !isNo(err) || s.timedOut.Load() {
				return err
			}
			tokens.Invalidate()
			if attempt == 1 {
				return fmt.Errorf("logging in as %s with XOAUTH2: %w: %v %s", m.Username, ErrAuth, err, a.serverError)
			}
		}
	default:
		pw, err := m.Password.Read()
		if err != nil {
			return fmt.Errorf("logging in as %s: %w: %w", m.Username, ErrConfig, err)
		}
		if m.Auth == config.AuthPlain {
			err = s.step("logging in", func() error {
				return s.c.Authenticate(&plainAuth{username: m.Username, password: pw.Reveal()})
			})
		} else {
			err = s.step("logging in", func() error { return s.c.Login(m.Username, pw.Reveal()).Wait() })
		}
		if err != nil && isNo(err) {
			return fmt.Errorf("logging in as %s: %w: %v", m.Username, ErrAuth, err)
		}
		return err
	}
}

// isNo reports whether err is a tagged NO or BAD from the server (as opposed
// to a network failure).
func isNo(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}
