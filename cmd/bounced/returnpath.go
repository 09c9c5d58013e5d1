package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/returnpath"
)

// Exit statuses of `bounced return-path verify`.
const (
	exitVerified = 0
	exitInvalid  = 1
	exitUsage    = 2
	exitUnsigned = 3
)

func runReturnPath(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, "Usage: bounced return-path sign [-config FILE] [-mailbox NAME] [-verp] ADDRESS... | -")
		fmt.Fprintln(e.stderr, "       bounced return-path verify [-config FILE] [-mailbox NAME] RETURN-PATH [RECIPIENT]")
		fmt.Fprintln(e.stderr, "\nsign prints the signed envelope sender (MAIL FROM) for each recipient, one a line.")
		fmt.Fprintln(e.stderr, "verify says whether a return path is signed for a recipient: verified (exit 0),")
		fmt.Fprintln(e.stderr, "invalid (exit 1) or unsigned (exit 3), and why.")
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	switch args[0] {
	case "sign":
		return runReturnPathSign(ctx, e, args[1:])
	case "verify":
		return runReturnPathVerify(e, args[1:])
	}
	fmt.Fprintf(e.stderr, "bounced return-path: unknown subcommand %q (want sign or verify)\n", args[0])
	return exitUsage
}

// returnPathScheme loads the configuration and returns the scheme of the
// mailbox named name, or of the only mailbox with a return-path key.
func returnPathScheme(e env, path, name string) (*returnpath.Scheme, bool) {
	cfg := loadConfig(e.stderr, path, config.Uses{SkipIMAP: true})
	if cfg == nil {
		return nil, false
	}
	m, err := keyedMailbox(cfg, name)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced return-path: %v\n", err)
		return nil, false
	}
	s, err := m.ReturnPathScheme()
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced return-path: %v\n", err)
		return nil, false
	}
	return s, true
}

// keyedMailbox returns the mailbox of cfg named name, which must have a
// return-path key, or when name is empty the only mailbox that has one.
func keyedMailbox(cfg *config.Config, name string) (*config.Mailbox, error) {
	var keyed []*config.Mailbox
	for i := range cfg.Mailboxes {
		m := &cfg.Mailboxes[i]
		if name != "" && m.Name == name {
			if !m.ReturnPathKeys.Configured() {
				return nil, fmt.Errorf("mailbox %q has no return_path_key_env or return_path_key_file", name)
			}
			return m, nil
		}
		if m.ReturnPathKeys.Configured() {
			keyed = append(keyed, m)
		}
	}
	switch {
	case name != "":
		return nil, fmt.Errorf("no [mailbox %s] in the configuration", name)
	case len(keyed) == 1:
		return keyed[0], nil
	case len(keyed) == 0:
		return nil, errors.New("no mailbox has a return-path key (return_path_key_env or return_path_key_file)")
	}
	names := make([]string, len(keyed))
	for i, m := range keyed {
		names[i] = m.Name
	}
	return nil, fmt.Errorf("%d mailboxes have a return-path key (%s): name one with -mailbox", len(keyed), strings.Join(names, ", "))
}

func runReturnPathSign(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "return-path sign", "ADDRESS... | -",
		"Prints the signed envelope sender (MAIL FROM) for mail to each ADDRESS, one a line,\nin the order given; - reads the addresses from standard input, one a line.\nIf any address cannot be signed, nothing is printed and the exit status is 1.")
	path := configFlag(fs)
	name := fs.String("mailbox", "", "the [mailbox `NAME`] whose return path and first key sign (default: the only one with a key)")
	verp := fs.Bool("verp", false, "the VERP form, which also carries the recipient where it fits in 64 octets")
	pos, code, stop := parseFlags(fs, args, -1)
	if stop {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(e.stderr, "bounced return-path sign: no address given")
		fs.Usage()
		return exitUsage
	}
	if len(pos) == 1 && pos[0] == "-" {
		pos = nil
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if a := strings.TrimSpace(sc.Text()); a != "" {
				pos = append(pos, a)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(e.stderr, "bounced return-path sign: reading standard input: %v\n", err)
			return 1
		}
	}
	s, ok := returnPathScheme(e, *path, *name)
	if !ok {
		return exitUsage
	}
	sign := s.Sign
	if *verp {
		sign = s.SignVERP
	}
	now := time.Now()
	out := make([]string, len(pos))
	failed := false
	for i, a := range pos {
		if ctx.Err() != nil {
			return 1
		}
		signed, err := sign(a, now)
		if err != nil {
			fmt.Fprintf(e.stderr, "bounced return-path sign: %v\n", err)
			failed = true
			continue
		}
		out[i] = signed
	}
	if failed {
		return 1
	}
	w := bufio.NewWriter(e.stdout)
	for _, a := range out {
		fmt.Fprintln(w, a)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "bounced return-path sign: writing output: %v\n", err)
		return 1
	}
	return 0
}

func runReturnPathVerify(e env, args []string) int {
	fs := newFlagSet(e, "return-path verify", "RETURN-PATH [RECIPIENT]",
		"Says whether RETURN-PATH is a return path signed for mail to RECIPIENT (by default\nthe recipient a VERP form carries) with one of the mailbox's keys, today:\nverified (exit 0), invalid (exit 1) or unsigned (exit 3), and why.")
	path := configFlag(fs)
	name := fs.String("mailbox", "", "the [mailbox `NAME`] whose return path and keys verify (default: the only one with a key)")
	pos, code, stop := parseFlags(fs, args, -1)
	if stop {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return exitUsage
	}
	s, ok := returnPathScheme(e, *path, *name)
	if !ok {
		return exitUsage
	}
	address, recipient := pos[0], ""
	if len(pos) == 2 {
		recipient = pos[1]
	} else if a, err := returnpath.Parse(address); err == nil && a.Recipient != "" {
		recipient = a.Recipient
	} else {
		fmt.Fprintln(e.stderr, "bounced return-path verify: name the RECIPIENT: the return path carries none")
		return exitUsage
	}
	return printVerification(e.stdout, s, address, recipient, time.Now())
}

// printVerification writes what Verify says of address for recipient and
// returns the exit status that goes with it.
func printVerification(w io.Writer, s *returnpath.Scheme, address, recipient string, now time.Time) int {
	err := s.Verify(address, recipient, now)
	switch {
	case err == nil:
		a, _ := returnpath.Parse(address)
		signed := time.Unix(a.Day*86400, 0).UTC().Format(time.DateOnly)
		fmt.Fprintf(w, "verified: signed for %s on %s, valid for %d days\n", recipient, signed, s.MaxAgeDays())
		return exitVerified
	case errors.Is(err, returnpath.ErrInvalid):
		fmt.Fprintf(w, "invalid: %s\n", strings.TrimPrefix(err.Error(), returnpath.ErrInvalid.Error()+": "))
		return exitInvalid
	}
	fmt.Fprintf(w, "unsigned: %s\n", strings.TrimPrefix(err.Error(), returnpath.ErrUnsigned.Error()+": "))
	return exitUnsigned
}
