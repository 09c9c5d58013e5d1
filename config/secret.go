package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Secret is a password or token. It prints and logs as "[redacted]"; Reveal
// returns the value for the one place that needs it.
type Secret struct{ value string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret's value. Never log it.
func (s Secret) Reveal() string { return s.value }

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return "config.Secret([redacted])" }

// LogValue implements slog.LogValuer without revealing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// SecretSource says where a password comes from: an environment variable or
// a file (read again at every use, so rotated files are picked up).
type SecretSource struct {
	Env  string
	File string
	// Kind names the secret in messages, and its settings KIND_env and
	// KIND_file; "password" when empty.
	Kind string
}

// Read returns the secret. A file's trailing newline is dropped.
func (s SecretSource) Read() (Secret, error) {
	kind := s.Kind
	if kind == "" {
		kind = "password"
	}
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return Secret{}, fmt.Errorf("reading %s: environment variable %s is not set", kind, s.Env)
		}
		return NewSecret(v), nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return Secret{}, fmt.Errorf("reading %s file: %w", kind, err)
		}
		return NewSecret(strings.TrimRight(string(b), "\r\n")), nil
	}
	return Secret{}, fmt.Errorf("reading %s: no %s_env or %s_file configured", kind, kind, kind)
}

// TokenSource says where an OAuth 2 access token comes from: a file kept fresh
// by another process, or a command that prints one. The command may print
// the bare token or a JSON object with access_token and expires_in.
type TokenSource struct {
	File     string
	Command  string
	Lifetime time.Duration // how long a token without expires_in is trusted

	mu      *sync.Mutex
	cached  Secret
	expires time.Time
}

// TokenCache returns a token source that caches tokens until they expire;
// use one per mailbox.
func (t TokenSource) TokenCache() *TokenSource {
	c := t
	c.mu = new(sync.Mutex)
	return &c
}

// Token returns a valid token, reading the file or running the command when
// the cached one has expired or Invalidate was called.
func (t *TokenSource) Token(ctx context.Context) (Secret, error) {
	if t.mu == nil {
		return t.fetch(ctx)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cached.value != "" && time.Now().Before(t.expires) {
		return t.cached, nil
	}
	s, err := t.fetch(ctx)
	if err != nil {
		return Secret{}, err
	}
	t.cached = s
	return s, nil
}

// Invalidate drops the cached token, after the server refused it.
func (t *TokenSource) Invalidate() {
	if t.mu == nil {
		return
	}
	t.mu.Lock()
	t.cached, t.expires = Secret{}, time.Time{}
	t.mu.Unlock()
}

func (t *TokenSource) fetch(ctx context.Context) (Secret, error) {
	var raw []byte
	switch {
	case t.File != "":
		b, err := os.ReadFile(t.File)
		if err != nil {
			return Secret{}, fmt.Errorf("reading token file: %w", err)
		}
		raw = b
	case t.Command != "":
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", t.Command)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return Secret{}, fmt.Errorf("running token command: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		raw = out
	default:
		return Secret{}, errors.New("reading token: no token_file or token_command configured")
	}
	raw = bytes.TrimSpace(raw)
	lifetime := t.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	token := string(raw)
	if bytes.HasPrefix(raw, []byte("{")) {
		var v struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return Secret{}, fmt.Errorf("reading token JSON: %w", err)
		}
		token = v.AccessToken
		if v.ExpiresIn > 0 {
			// Refresh a minute early so a token never expires mid-login.
			lifetime = max(time.Duration(v.ExpiresIn)*time.Second-time.Minute, time.Second)
		}
	}
	if token == "" {
		return Secret{}, errors.New("reading token: empty token")
	}
	t.expires = time.Now().Add(lifetime)
	return NewSecret(token), nil
}
