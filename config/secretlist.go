package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// secretList names a kind of secret that comes as a list, for
// readSecretList: API tokens and return-path keys are both read from an
// environment variable holding one or several separated by white space, or
// from a file with one per line.
type secretList struct {
	what        string // the secrets in messages: "API token"
	one         string // one of them: "token"
	envSetting  string // the setting naming the variable: "api_token_env"
	fileSetting string // the setting naming the file: "api_token_file"
	minLen      int    // the shortest secret accepted
	shortHint   string // added to the error for a short secret, or ""
}

// readSecretList reads the secrets of kind l from the environment variable
// env or, when env is "", from the file file. In the file blank lines and
// lines starting with # are ignored, and a line with a blank inside is
// refused. It fails when the variable is unset, the file cannot be read, no
// secret is found or one is shorter than l.minLen. Its errors never contain
// a secret.
func readSecretList(env, file string, l secretList) ([]Secret, error) {
	var (
		secrets []Secret
		where   string
	)
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return nil, fmt.Errorf("reading %s: environment variable %s is not set", l.what, env)
		}
		where = "environment variable " + env
		for _, f := range strings.Fields(v) {
			secrets = append(secrets, NewSecret(f))
		}
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading %s file: %w", l.what, err)
		}
		where = l.fileSetting + " " + file
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			s := strings.TrimSpace(sc.Text())
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			if strings.ContainsAny(s, " \t") {
				return nil, fmt.Errorf("reading %s: %s line %d: a %s must not contain blanks", l.what, where, line, l.one)
			}
			secrets = append(secrets, NewSecret(s))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading %s file %s: %w", l.what, file, err)
		}
	default:
		return nil, fmt.Errorf("reading %s: no %s or %s configured", l.what, l.envSetting, l.fileSetting)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("reading %s: %s holds no %s", l.what, where, l.one)
	}
	for i, s := range secrets {
		if len(s.Reveal()) < l.minLen {
			return nil, fmt.Errorf("reading %s: %s %d of %s is shorter than %d characters%s",
				l.what, l.one, i+1, where, l.minLen, l.shortHint)
		}
	}
	return secrets, nil
}
