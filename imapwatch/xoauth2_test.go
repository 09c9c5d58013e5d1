package imapwatch

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/config"
)

// scriptedXOAUTH2Server speaks just enough IMAP for a login with XOAUTH2:
// it accepts the bearer token "fresh" and refuses any other the way Gmail
// does (a JSON challenge, then NO). It records the tokens it was shown.
func scriptedXOAUTH2Server(t *testing.T) (addr string, seen chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen = make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				fmt.Fprint(c, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] test server ready\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
					switch {
					case strings.HasPrefix(strings.ToUpper(rest), "AUTHENTICATE XOAUTH2 "):
						raw, _ := base64.StdEncoding.DecodeString(rest[len("AUTHENTICATE XOAUTH2 "):])
						_, token, _ := strings.Cut(string(raw), "auth=Bearer ")
						token = strings.TrimRight(token, "\x01")
						seen <- token
						if token == "fresh" {
							fmt.Fprintf(c, "%s OK [CAPABILITY IMAP4rev1] authenticated\r\n", tag)
							continue
						}
						fmt.Fprint(c, "+ "+base64.StdEncoding.EncodeToString([]byte(`{"status":"401","schemes":"bearer"}`))+"\r\n")
						if _, err := r.ReadString('\n'); err != nil {
							return
						}
						fmt.Fprintf(c, "%s NO [AUTHENTICATIONFAILED] Invalid credentials\r\n", tag)
					case strings.EqualFold(rest, "LOGOUT"):
						fmt.Fprintf(c, "* BYE\r\n%s OK bye\r\n", tag)
						return
					default:
						fmt.Fprintf(c, "%s BAD unexpected\r\n", tag)
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), seen
}

func TestXOAUTH2RefreshesARefusedToken(t *testing.T) {
	addr, seen := scriptedXOAUTH2Server(t)
	dir := t.TempDir()
	// The token command hands out "stale" first, then "fresh".
	state := filepath.Join(dir, "calls")
	cmd := fmt.Sprintf(`if [ -f %[1]s ]; then echo fresh; else touch %[1]s; echo stale; fi`, state)
	m := config.Mailbox{Name: "oauth", Address: addr, TLS: config.TLSNone, Username: "bounces@example.com",
		Auth: config.AuthXOAUTH2, Token: config.TokenSource{Command: cmd, Lifetime: time.Hour}, Timeout: 5 * time.Second}
	tokens := m.Token.TokenCache()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := dial(context.Background(), m, tokens, nil, logger)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	s.close()
	if a, b := <-seen, <-seen; a != "stale" || b != "fresh" {
		t.Errorf("server saw tokens %q then %q, want stale then fresh", a, b)
	}
	// The fresh token is cached: the next login runs no command.
	os.Remove(state)
	s, err = dial(context.Background(), m, tokens, nil, logger)
	if err != nil {
		t.Fatalf("second dial: %v", err)
	}
	s.close()
	if tok := <-seen; tok != "fresh" {
		t.Errorf("second login used %q, want the cached fresh token", tok)
	}
	if strings.Contains(logs.String(), "fresh") {
		t.Errorf("a token was logged")
	}
}

func TestXOAUTH2BadTokenIsAnAuthError(t *testing.T) {
	addr, _ := scriptedXOAUTH2Server(t)
	m := config.Mailbox{Name: "oauth", Address: addr, TLS: config.TLSNone, Username: "u",
		Auth: config.AuthXOAUTH2, Token: config.TokenSource{Command: "echo revoked", Lifetime: time.Hour}, Timeout: 5 * time.Second}
	_, err := dial(context.Background(), m, m.Token.TokenCache(), nil, testOptions(t).Logger)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), `"status":"401"`) {
		t.Fatalf("err = %v, want ErrAuth with the server's explanation", err)
	}
	if strings.Contains(err.Error(), "revoked") {
		t.Errorf("the token leaked into the error: %v", err)
	}
}
