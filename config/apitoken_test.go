package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const testMailbox = `
[mailbox a]
address = imap.example.com:993
username = u
password_env = BOUNCED_TEST_PW
`

func TestAPITokenKeys(t *testing.T) {
	cfg, problems := Parse([]byte("api_token_env = BOUNCED_API_TOKENS\n" + testMailbox))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if cfg.APIToken.Env != "BOUNCED_API_TOKENS" || !cfg.APIToken.Configured() {
		t.Errorf("APIToken = %+v", cfg.APIToken)
	}
	cfg, problems = Parse([]byte(testMailbox))
	if len(problems) > 0 || cfg.APIToken.Configured() {
		t.Errorf("no token configured: %+v, %v", cfg.APIToken, problems)
	}

	_, problems = Parse([]byte("api_token = sekrit-sekrit-sekrit\napi_token_env = A\napi_token_file = /run/t\n" + testMailbox))
	text := problems.Error()
	for _, w := range []string{"line 1: api_token: tokens do not belong in the file: use api_token_env or api_token_file",
		"line 3: api_token_file: set only one of api_token_env and api_token_file"} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	if strings.Contains(text, "sekrit") {
		t.Errorf("a problem shows the token:\n%s", text)
	}
}

func TestAPITokenRead(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BOUNCED_TEST_API_TOKENS", " 0123456789abcdef\nfedcba9876543210 ")
	t.Setenv("BOUNCED_TEST_API_SHORT", "short-token")
	t.Setenv("BOUNCED_TEST_API_EMPTY", "  ")

	tests := []struct {
		src     APITokenSource
		want    []string
		wantErr string
	}{
		{src: APITokenSource{Env: "BOUNCED_TEST_API_TOKENS"}, want: []string{"0123456789abcdef", "fedcba9876543210"}},
		{src: APITokenSource{File: writeFile(t, dir, "ok", "# old, remove after the rotation\n0123456789abcdef\n\n  fedcba9876543210  \r\n")},
			want: []string{"0123456789abcdef", "fedcba9876543210"}},
		{src: APITokenSource{Env: "BOUNCED_TEST_API_SURELY_UNSET"}, wantErr: "environment variable BOUNCED_TEST_API_SURELY_UNSET is not set"},
		{src: APITokenSource{Env: "BOUNCED_TEST_API_EMPTY"}, wantErr: "environment variable BOUNCED_TEST_API_EMPTY holds no token"},
		{src: APITokenSource{Env: "BOUNCED_TEST_API_SHORT"}, wantErr: "token 1 of environment variable BOUNCED_TEST_API_SHORT is shorter than 16 characters"},
		{src: APITokenSource{File: filepath.Join(dir, "missing")}, wantErr: "reading API token file: open"},
		{src: APITokenSource{File: writeFile(t, dir, "comments", "# nothing yet\n\n")}, wantErr: "holds no token"},
		{src: APITokenSource{File: writeFile(t, dir, "short", "0123456789abcdef\nshort-token\n")}, wantErr: "token 2 of api_token_file"},
		{src: APITokenSource{File: writeFile(t, dir, "blank", "0123456789abcdef 0123456789abcdef\n")}, wantErr: "line 1: a token must not contain blanks"},
		{src: APITokenSource{}, wantErr: "no api_token_env or api_token_file"},
	}
	for _, tt := range tests {
		got, err := tt.src.Read()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Read(%+v) = %v, want an error with %q", tt.src, err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "short-token") || strings.Contains(err.Error(), "0123456789abcdef")) {
				t.Errorf("Read(%+v): the error shows a token: %v", tt.src, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Read(%+v): %v", tt.src, err)
			continue
		}
		var vals []string
		for _, s := range got {
			vals = append(vals, s.Reveal())
		}
		if fmt.Sprint(vals) != fmt.Sprint(tt.want) {
			t.Errorf("Read(%+v) = %q, want %q", tt.src, vals, tt.want)
		}
	}
}

func TestCheckEnvironmentAPIToken(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://x")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	cfg, problems := Parse([]byte("api_token_env = BOUNCED_TEST_API_SURELY_UNSET\n" + testMailbox))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := cfg.CheckEnvironment(Uses{Database: true, Daemon: true})
	if len(got) != 1 || !strings.Contains(got.Error(), "BOUNCED_TEST_API_SURELY_UNSET is not set") {
		t.Errorf("CheckEnvironment = %v, want the unset token variable", got)
	}
	t.Setenv("BOUNCED_TEST_API_SURELY_UNSET", "0123456789abcdef0123")
	if got := cfg.CheckEnvironment(Uses{Database: true, Daemon: true}); len(got) != 0 {
		t.Errorf("CheckEnvironment with the token set = %v", got)
	}
}

func TestCheckEnvironmentOnlyWhatIsUsed(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("BOUNCED_TEST_PW", "pw")
	cfg, problems := Parse([]byte("api_token_env = BOUNCED_TEST_API_SURELY_UNSET\n" + testMailbox +
		"\n[webhook crm]\nurl = https://crm.example.com/hook\nsecret_env = BOUNCED_TEST_HOOK_SURELY_UNSET\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	// bounced once -fetch-only: neither the database nor the daemon's secrets.
	if got := cfg.CheckEnvironment(Uses{}); len(got) != 0 {
		t.Errorf("CheckEnvironment(Uses{}) = %v, want nothing", got)
	}
	got := cfg.CheckEnvironment(Uses{Database: true, Daemon: true})
	for _, want := range []string{"DATABASE_URL", "BOUNCED_TEST_API_SURELY_UNSET", "BOUNCED_TEST_HOOK_SURELY_UNSET"} {
		if !strings.Contains(got.Error(), want) {
			t.Errorf("CheckEnvironment for the daemon = %v, want a problem naming %s", got, want)
		}
	}
}
