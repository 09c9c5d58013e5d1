package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bounced/bounced/authenticity"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
)

// headerList is a repeatable flag of header names.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ",") }

func (h *headerList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*h = append(*h, name)
		}
	}
	return nil
}

func runParse(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("parse", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	asJSON := fl.Bool("json", false, "print one JSON object per recipient result (the parse contract)")
	maxSize := fl.Int64("max-size", dsn.DefaultMaxSize, "largest message accepted, in bytes")
	var headers headerList
	fl.Var(&headers, "header", "correlation header of the original to report (repeatable; default X-Campaign-Id, X-Mailer-Recipient, List-Id)")
	cfgPath := fl.String("config", "", "configuration `file`: check signed return paths with a mailbox's keys and apply its policy")
	mailbox := fl.String("mailbox", "", "the [mailbox `NAME`] of -config whose keys and policy apply (default: the only one)")
	fl.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: bounced parse [--json] [--header NAME] [-config FILE [-mailbox NAME]] FILE|DIR|- ...")
		fmt.Fprintln(e.stderr, "\nParses raw RFC 5322 messages (.eml) and prints one result per recipient:")
		fmt.Fprintln(e.stderr, "what failed, the status and reply code, the reason, who must act and the verdict.")
		fmt.Fprintln(e.stderr, "With -config, each result's authenticity is checked with the mailbox's return-path")
		fmt.Fprintln(e.stderr, "keys and its verdict is the one bounced run would give; without, every result is unsigned.")
		fmt.Fprintln(e.stderr, "A directory is read recursively; - reads one message from standard input.")
		fmt.Fprintln(e.stderr, "Unreadable files are reported on stderr and make the exit status 1; the others are still parsed.")
		fmt.Fprintln(e.stderr, "\nFlags:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	opts := dsn.Options{MaxSize: *maxSize}
	parse := dsn.Parse
	if *cfgPath != "" || *mailbox != "" {
		m, pol, code := parsePolicy(e, *cfgPath, *mailbox)
		if pol == nil {
			return code
		}
		parse = pol.Parse
		opts.CorrelationHeaders = m.CorrelationHeaders
	}
	if len(headers) > 0 {
		opts.CorrelationHeaders = headers
	}

	out := bufio.NewWriterSize(e.stdout, 64<<10)
	defer out.Flush()
	var printer resultPrinter = &tablePrinter{tw: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		printer = jsonPrinter{enc: enc}
	}

	failed := false
	for _, arg := range fl.Args() {
		if ctx.Err() != nil {
			break
		}
		files, err := expandPath(arg)
		if err != nil {
			fmt.Fprintf(e.stderr, "bounced parse: %s\n", termSafe(err.Error()))
			failed = true
			continue
		}
		for _, file := range files {
			if ctx.Err() != nil {
				break
			}
			rep, err := parseFile(parse, file, e.stdin, opts)
			if err != nil {
				// The error may quote the message's bytes: escape them.
				fmt.Fprintf(e.stderr, "bounced parse: %s: %s\n", termSafe(file), termSafe(err.Error()))
				failed = true
				continue
			}
			for _, res := range rep.Results() {
				res.File = file
				if err := printer.print(res); err != nil {
					fmt.Fprintf(e.stderr, "bounced parse: writing output: %v\n", err)
					return 1
				}
			}
		}
	}
	if err := printer.flush(); err != nil {
		fmt.Fprintf(e.stderr, "bounced parse: writing output: %v\n", err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(e.stderr, "bounced parse: interrupted")
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// expandPath turns one argument into the files it names: the file itself,
// every regular file under a directory (sorted, hidden ones skipped), or "-".
func expandPath(arg string) ([]string, error) {
	if arg == "-" {
		return []string{"-"}, nil
	}
	info, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{arg}, nil
	}
	var files []string
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != arg {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", arg, err)
	}
	sort.Strings(files)
	return files, nil
}

// parsePolicy returns the mailbox of the configuration at path named name
// (or its only one) and that mailbox's authenticity policy; on failure the
// policy is nil and the problem has been printed, with the exit status.
func parsePolicy(e env, path, name string) (*config.Mailbox, *authenticity.Policy, int) {
	if path == "" {
		fmt.Fprintln(e.stderr, "bounced parse: -mailbox needs -config")
		return nil, nil, 2
	}
	cfg := loadConfig(e.stderr, path, config.Uses{SkipIMAP: true})
	if cfg == nil {
		return nil, nil, 2
	}
	m, err := pickMailbox(cfg, name)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced parse: %v\n", err)
		return nil, nil, 2
	}
	pol, err := authenticity.ForMailbox(m)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced parse: %v\n", err)
		return nil, nil, 2
	}
	return m, pol, 0
}

// pickMailbox returns the mailbox of cfg named name, or its only mailbox
// when name is empty.
func pickMailbox(cfg *config.Config, name string) (*config.Mailbox, error) {
	var names []string
	for i := range cfg.Mailboxes {
		if cfg.Mailboxes[i].Name == name || name == "" && len(cfg.Mailboxes) == 1 {
			return &cfg.Mailboxes[i], nil
		}
		names = append(names, cfg.Mailboxes[i].Name)
	}
	if name == "" {
		return nil, fmt.Errorf("the configuration has %d mailboxes (%s): name one with -mailbox", len(names), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("no [mailbox %s] in the configuration (it has: %s)", name, strings.Join(names, ", "))
}

// parseFile parses one message from a file, or from stdin for "-".
func parseFile(parse func(io.Reader, dsn.Options) (*dsn.Report, error), name string, stdin io.Reader, opts dsn.Options) (*dsn.Report, error) {
	if name == "-" {
		return parse(stdin, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f, opts)
}

// resultPrinter writes parse results in one output format.
type resultPrinter interface {
	print(dsn.Result) error
	flush() error
}

type jsonPrinter struct{ enc *json.Encoder }

func (p jsonPrinter) print(r dsn.Result) error { return p.enc.Encode(r) }
func (p jsonPrinter) flush() error             { return nil }

// tablePrinter writes an aligned table for people.
type tablePrinter struct {
	tw     *tabwriter.Writer
	header bool
}

func (p *tablePrinter) print(r dsn.Result) error {
	if !p.header {
		p.header = true
		fmt.Fprintln(p.tw, "FILE\tKIND\tRECIPIENT\tSTATUS\tCODE\tREASON\tSCOPE\tVERDICT\tAUTHENTICITY\tDIAGNOSTIC")
	}
	status := r.Status
	if r.StatusInferred {
		status += "*"
	}
	code := "-"
	if r.SMTPCode != 0 {
		code = fmt.Sprint(r.SMTPCode)
	}
	diag := termSafe(truncate(r.Diagnostic, 70))
	if r.RecipientsDropped > 0 {
		diag = fmt.Sprintf("(%d more recipients not read) %s", r.RecipientsDropped, diag)
	}
	// Every cell from the message is escaped for the terminal (termSafe),
	// which also keeps tabs and newlines from breaking the table.
	_, err := fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		termSafe(filepath.Base(r.File)), r.Kind, termSafe(orDash(r.Recipient)), termSafe(orDash(status)), code,
		r.Reason, r.Scope, r.Verdict, r.Authenticity, diag)
	return err
}

func (p *tablePrinter) flush() error { return p.tw.Flush() }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
