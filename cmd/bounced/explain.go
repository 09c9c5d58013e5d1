package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bounced/bounced/dsn"
)

// runExplain implements `bounced explain CODE|REASON [--lang en|de]`.
func runExplain(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	lang := fs.String("lang", "", "language of the texts: en or de (default: de if $LANG starts with de, else en)")
	fs.Usage = func() {} // printed below, to stdout for --help and stderr for errors

	// Flags may follow the argument ("explain mailbox_full --lang de").
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				explainUsage(e.stdout, fs)
				return 0
			}
			explainUsage(e.stderr, fs)
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(words) == 0 {
		fmt.Fprintln(e.stderr, "bounced explain: missing CODE or REASON")
		explainUsage(e.stderr, fs)
		return 2
	}
	l := *lang
	if l == "" {
		l = "en"
		if strings.HasPrefix(strings.ToLower(os.Getenv("LANG")), "de") {
			l = "de"
		}
	}
	l = strings.ToLower(l)
	input := strings.Join(words, " ")

	var err error
	if r, ok := dsn.ParseReason(input); ok {
		var ex dsn.Explanation
		if ex, err = dsn.Explain(r, l); err == nil {
			printExplanation(e.stdout, ex, l)
			return 0
		}
	} else {
		var ce dsn.CodeExplanation
		if ce, err = dsn.ExplainCode(input, l); err == nil {
			printCode(e.stdout, ce, l)
			fmt.Fprintln(e.stdout)
			if ce.Guide.Code != "" {
				printGuide(e.stdout, ce, l)
			} else {
				printExplanation(e.stdout, ce.Explanation, l)
			}
			return 0
		}
	}
	switch {
	case errors.Is(err, dsn.ErrUnknownLanguage):
		fmt.Fprintf(e.stderr, "bounced explain: unknown language %q: use en or de\n", l)
	case errors.Is(err, dsn.ErrUnknownCode), errors.Is(err, dsn.ErrUnknownReason):
		fmt.Fprintf(e.stderr, "bounced explain: %q is neither a reason nor an SMTP code\n", input)
		wrap(e.stderr, "", `Give a reply code (552), an enhanced status code (5.7.26), both ("550 5.1.1"), or one of the reasons: `+reasonList()+".")
	default:
		fmt.Fprintf(e.stderr, "bounced explain: %v\n", err)
	}
	return 2
}

func explainUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: bounced explain CODE|REASON [--lang en|de]

Explains what an SMTP reply code, an RFC 3463 enhanced status code or a
bounced reason means, who has to act, why it happens and how to fix it.

Examples:
  bounced explain 5.7.26
  bounced explain 552
  bounced explain "550 5.1.1"
  bounced explain mailbox_full --lang de

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w)
	wrap(w, "", "Reasons: "+reasonList())
}

func reasonList() string {
	rs := dsn.Reasons()
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// labels holds the fixed words of the output per language.
var labels = map[string]map[string]string{
	"en": {
		"reason": "Reason", "scope": "Scope", "permanent": "Permanent", "verdict": "Verdict",
		"yes": "yes", "no": "no", "meaning": "What it means", "why": "Why it happens", "fix": "How to fix it",
		"reply": "Reply code", "status": "Status code",
		"ambiguous": "This code alone is ambiguous: the server's words decide. Most likely:",
		"readings":  "Readings, and what in the bounce decides",
		"likely":    "Without the server's words, the most likely reading:",
		"more":      "More on a reading: bounced explain REASON",
		"recipient": "recipient: the address is the problem",
		"sender":    "sender: your sending setup or reputation is the problem",
		"transient": "transient: retry later",
		"none":      "none: not a failure",
		"suppress":  "suppress: the address is suppressed now",
		"soft":      "soft: counted; suppressed after repeated soft bounces",
		"alert":     "alert: a sender-side incident; nobody is suppressed",
		"ignore":    "ignore: nothing to do",
	},
	"de": {
		"reason": "Grund", "scope": "Zuständig", "permanent": "Dauerhaft", "verdict": "Urteil",
		"yes": "ja", "no": "nein", "meaning": "Was es bedeutet", "why": "Warum es passiert", "fix": "Was zu tun ist",
		"reply": "Antwortcode", "status": "Statuscode",
		"ambiguous": "Dieser Code allein ist mehrdeutig: Der Text des Servers entscheidet. Am wahrscheinlichsten:",
		"readings":  "Lesarten, und was im Bounce entscheidet",
		"likely":    "Ohne den Text des Servers die wahrscheinlichste Lesart:",
		"more":      "Mehr zu einer Lesart: bounced explain GRUND",
		"recipient": "recipient: die Adresse ist das Problem",
		"sender":    "sender: Ihr Versand oder Ihr Ruf ist das Problem",
		"transient": "transient: später erneut versuchen",
		"none":      "none: kein Fehlschlag",
		"suppress":  "suppress: die Adresse wird jetzt gesperrt",
		"soft":      "soft: gezählt; nach wiederholten Soft Bounces gesperrt",
		"alert":     "alert: ein Problem beim Absender; niemand wird gesperrt",
		"ignore":    "ignore: nichts zu tun",
	},
}

func printCode(w io.Writer, ce dsn.CodeExplanation, lang string) {
	lb := labels[lang]
	if ce.ReplyCode != 0 {
		wrapHanging(w, fmt.Sprintf("%-12s ", lb["reply"]+":"), strings.Repeat(" ", 13), fmt.Sprintf("%d %s (RFC 5321)", ce.ReplyCode, ce.ReplyText))
	}
	if ce.Status != "" {
		wrapHanging(w, fmt.Sprintf("%-12s ", lb["status"]+":"), strings.Repeat(" ", 13), fmt.Sprintf("%s %s: %s (RFC 3463)", ce.Status, ce.StatusClass, ce.StatusText))
	}
	if ce.Ambiguous && ce.Guide.Code == "" {
		fmt.Fprintln(w)
		wrap(w, "", lb["ambiguous"])
	}
}

// printGuide prints the guide of a code (dsn.GuidedCodes): what it means,
// each reading with what decides it, causes and fixes, and then the reason
// bounced takes when the server's words say nothing more.
func printGuide(w io.Writer, ce dsn.CodeExplanation, lang string) {
	lb := labels[lang]
	g := ce.Guide
	fmt.Fprintf(w, "%s\n", lb["meaning"])
	wrap(w, "  ", g.Meaning)
	fmt.Fprintf(w, "\n%s\n", lb["readings"])
	for _, rd := range g.Readings {
		wrap(w, "  ", fmt.Sprintf("- %s (%s): %s", rd.Reason, rd.Title, rd.Decides))
	}
	fmt.Fprintf(w, "\n%s\n", lb["why"])
	for _, para := range strings.Split(g.Why, "\n") {
		wrap(w, "  ", "- "+para)
	}
	fmt.Fprintf(w, "\n%s\n", lb["fix"])
	for _, para := range strings.Split(g.Fix, "\n") {
		wrap(w, "  ", para)
	}
	fmt.Fprintln(w)
	wrap(w, "", lb["likely"])
	printVerdictLines(w, ce.Explanation, lang)
	fmt.Fprintln(w)
	wrap(w, "", lb["more"])
}

func printExplanation(w io.Writer, ex dsn.Explanation, lang string) {
	lb := labels[lang]
	printVerdictLines(w, ex, lang)
	for _, s := range []struct{ head, text string }{
		{lb["meaning"], ex.Meaning}, {lb["why"], ex.Why}, {lb["fix"], ex.Fix},
	} {
		fmt.Fprintf(w, "\n%s\n", s.head)
		for _, para := range strings.Split(s.text, "\n") {
			wrap(w, "  ", para)
		}
	}
}

// printVerdictLines prints the reason, scope, permanence and verdict lines.
func printVerdictLines(w io.Writer, ex dsn.Explanation, lang string) {
	lb := labels[lang]
	perm := lb["no"]
	if ex.Permanent {
		perm = lb["yes"]
	}
	fmt.Fprintf(w, "%-12s %s (%s)\n", lb["reason"]+":", ex.Reason, ex.Title)
	fmt.Fprintf(w, "%-12s %s\n", lb["scope"]+":", lb[string(ex.Scope)])
	fmt.Fprintf(w, "%-12s %s\n", lb["permanent"]+":", perm)
	fmt.Fprintf(w, "%-12s %s\n", lb["verdict"]+":", lb[string(ex.Verdict)])
}

// wrap writes text word-wrapped at 78 columns, each line prefixed by indent;
// continuation lines of a numbered step ("1. ...") or of a bullet ("- ...")
// align with its text.
func wrap(w io.Writer, indent, text string) {
	hang := indent
	switch {
	case len(text) > 3 && text[0] >= '0' && text[0] <= '9' && text[1] == '.' && text[2] == ' ':
		hang = indent + "   "
	case strings.HasPrefix(text, "- "):
		hang = indent + "  "
	}
	wrapHanging(w, indent, hang, text)
}

// wrapHanging writes text word-wrapped at 78 columns, the first line
// prefixed by indent and the others by hang.
func wrapHanging(w io.Writer, indent, hang, text string) {
	const width = 78
	line := indent
	empty := true
	for _, word := range strings.Fields(text) {
		if !empty && len([]rune(line))+1+len([]rune(word)) > width {
			fmt.Fprintln(w, line)
			line, empty = hang, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	if !empty {
		fmt.Fprintln(w, line)
	}
}
