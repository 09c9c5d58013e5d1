package main

// A small LMTP client (RFC 2033) for the end-to-end tests: bounces reach
// Dovecot the way an MTA hands them over in production, addressed to a
// return path, not only by IMAP APPEND.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// lmtpRecipientError is a recipient LMTP refused, at RCPT or after DATA.
type lmtpRecipientError struct {
	Recipient string
	Code      int
	Msg       string
}

func (e *lmtpRecipientError) Error() string {
	return fmt.Sprintf("LMTP refused <%s>: %d %s", e.Recipient, e.Code, e.Msg)
}

// lmtpDeliver delivers msg from the envelope sender from (empty for a
// bounce: MAIL FROM:<>) to rcpts over LMTP at addr. It returns, for each
// recipient in order, nil when the server took the message for it, or a
// *lmtpRecipientError; the error is for the session as a whole (connection,
// greeting, LHLO, MAIL, DATA). LMTP answers DATA once per recipient
// accepted at RCPT, in RCPT order (RFC 2033, section 4.2).
func lmtpDeliver(ctx context.Context, addr, from string, rcpts []string, msg []byte) ([]error, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to LMTP %s: %w", addr, err)
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(time.Minute))
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	c := textproto.NewConn(nc)

	if _, _, err := c.ReadResponse(220); err != nil {
		return nil, fmt.Errorf("LMTP greeting: %w", err)
	}
	if err := lmtpCmd(c, 250, "LHLO bounced.test"); err != nil {
		return nil, fmt.Errorf("LMTP LHLO: %w", err)
	}
	if err := lmtpCmd(c, 250, "MAIL FROM:<%s>", from); err != nil {
		return nil, fmt.Errorf("LMTP MAIL FROM:<%s>: %w", from, err)
	}
	results := make([]error, len(rcpts))
	var accepted []int
	for i, r := range rcpts {
		if err := lmtpCmd(c, 250, "RCPT TO:<%s>", r); err != nil {
			var pe *textproto.Error
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("LMTP RCPT TO:<%s>: %w", r, err)
			}
			results[i] = &lmtpRecipientError{Recipient: r, Code: pe.Code, Msg: pe.Msg}
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		_ = lmtpCmd(c, 221, "QUIT")
		return results, nil
	}
	if err := lmtpCmd(c, 354, "DATA"); err != nil {
		return nil, fmt.Errorf("LMTP DATA: %w", err)
	}
	w := c.DotWriter()
	// DotWriter turns "\n" into CRLF: hand it LF line ends.
	if _, err := w.Write(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))); err != nil {
		return nil, fmt.Errorf("LMTP sending the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("LMTP ending the message: %w", err)
	}
	for _, i := range accepted {
		code, text, err := c.ReadResponse(250)
		if err != nil {
			var pe *textproto.Error
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("LMTP reply for <%s> after DATA: %w", rcpts[i], err)
			}
			results[i] = &lmtpRecipientError{Recipient: rcpts[i], Code: code, Msg: text}
		}
	}
	_ = lmtpCmd(c, 221, "QUIT")
	return results, nil
}

// lmtpCmd sends one command and reads its reply, which must have the code
// want (a *textproto.Error otherwise).
func lmtpCmd(c *textproto.Conn, want int, format string, args ...any) error {
	id, err := c.Cmd(format, args...)
	if err != nil {
		return err
	}
	c.StartResponse(id)
	defer c.EndResponse(id)
	_, _, err = c.ReadResponse(want)
	return err
}

// requireLMTP returns Dovecot's LMTP address (TEST_LMTP_ADDR, exported by
// .ci/dovecot.sh), or "" when it is not set: the caller then delivers by
// IMAP APPEND and says so. .ci/run always has it.
func requireLMTP(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TEST_LMTP_ADDR")
	if addr == "" {
		t.Log("TEST_LMTP_ADDR unset (a Dovecot started by an older .ci/dovecot.sh): delivering by IMAP APPEND instead of LMTP")
	}
	return addr
}

// inboxCount returns how many messages the user's INBOX holds.
func inboxCount(t testing.TB, d dovecotEnv) int {
	t.Helper()
	c := d.client(t)
	data, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("status of INBOX: %v", err)
	}
	return int(*data.NumMessages)
}

func TestLMTPDeliversToTaggedReturnPath(t *testing.T) {
	d := requireDovecot(t)
	lmtp := os.Getenv("TEST_LMTP_ADDR")
	if lmtp == "" {
		// A Dovecot started by this .ci/dovecot.sh always has LMTP.
		conf, _ := os.ReadFile(filepath.Join(os.Getenv("DOVECOT_TEST_DIR"), "dovecot.conf"))
		if os.Getenv("CI") == "true" && bytes.Contains(conf, []byte("service lmtp")) {
			t.Fatal("CI=true, Dovecot serves LMTP, but TEST_LMTP_ADDR is unset: .ci/dovecot.sh should have exported it")
		}
		t.Skip("TEST_LMTP_ADDR unset; run `. .ci/dovecot.sh` for a Dovecot with LMTP")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := inboxCount(t, d)
	msg := []byte("From: MAILER-DAEMON@mx.example\r\nTo: bounces+x1@example.test\r\nSubject: lmtp test\r\n\r\n.leading dot\r\nbody\r\n")
	rcpts := []string{
		d.user + "+tag-123_ABC@example.test", // a tagged return path
		d.user + "@example.test",             // the plain return path
		d.user + "+x",                        // no domain
		"nobody-" + fmt.Sprint(time.Now().UnixNano()) + "@example.test",
	}
	res, err := lmtpDeliver(ctx, lmtp, "", rcpts, msg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if res[i] != nil {
			t.Errorf("<%s>: %v", rcpts[i], res[i])
		}
	}
	var re *lmtpRecipientError
	if !errors.As(res[3], &re) || re.Code != 550 {
		t.Errorf("unknown user: %v, want a 550 for it alone", res[3])
	}
	if got := inboxCount(t, d) - before; got != 3 {
		t.Errorf("INBOX grew by %d, want 3 (one per accepted recipient)", got)
	}
	if _, err := lmtpDeliver(ctx, "127.0.0.1:1", "", rcpts, msg); err == nil {
		t.Error("delivering to a closed port: no error")
	}
}
