package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinAPITokenLength is the shortest bearer token the HTTP API accepts: a
// shorter one could be guessed.
const MinAPITokenLength = 16

// APITokenSource says where the bearer tokens of the HTTP API come from: an
// environment variable (api_token_env) holding one token, or several
// separated by white space, or a file (api_token_file) with one token per
// line, where blank lines and lines starting with # are ignored. More than
// one token lets a token be rotated: add the new one, move the clients over,
// then remove the old one. The tokens themselves never sit in the
// configuration file.
type APITokenSource struct {
	Env  string
	File string
}

// Configured reports whether a token source is set; without one the HTTP
// API is off.
func (s APITokenSource) Configured() bool { return s.Env != "" || s.File != "" }

// Read returns the tokens. It fails when the variable is unset, the file
// cannot be read, no token is found or a token is shorter than
// MinAPITokenLength. Its errors never contain a token.
func (s APITokenSource) Read() ([]Secret, error) {
	var (
		tokens []Secret
		where  string
	)
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return nil, fmt.Errorf("reading API token: environment variable %s is not set", s.Env)
		}
		where = "environment variable " + s.Env
		for _, f := range strings.Fields(v) {
			tokens = append(tokens, NewSecret(f))
		}
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("reading API token file: %w", err)
		}
		where = "api_token_file " + s.File
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if strings.ContainsAny(t, " \t") {
				return nil, fmt.Errorf("reading API token: %s line %d: a token must not contain blanks", where, line)
			}
			tokens = append(tokens, NewSecret(t))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading API token file %s: %w", s.File, err)
		}
	default:
		return nil, errors.New("reading API token: no api_token_env or api_token_file configured")
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("reading API token: %s holds no token", where)
	}
	for i, t := range tokens {
		if len(t.Reveal()) < MinAPITokenLength {
			return nil, fmt.Errorf("reading API token: token %d of %s is shorter than %d characters", i+1, where, MinAPITokenLength)
		}
	}
	return tokens, nil
}
