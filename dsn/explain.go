package dsn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnknownLanguage is returned by Explain and ExplainCode for a language
// other than "en" or "de".
var ErrUnknownLanguage = errors.New("dsn: unknown language (want en or de)")

// ErrUnknownCode is returned by ExplainCode for input that is neither an SMTP
// reply code nor an RFC 3463 enhanced status code.
var ErrUnknownCode = errors.New("dsn: not an SMTP reply code or enhanced status code")

// ErrUnknownReason is returned by Explain for a reason not in the DESIGN.md
// reason table.
var ErrUnknownReason = errors.New("dsn: unknown reason")

// Languages lists the languages the explanation texts are written in.
var Languages = []string{"en", "de"}

// Explanation says what a reason means for an operator: who has to act,
// what happened, why it happens and how to fix it.
type Explanation struct {
	Reason    Reason
	Scope     Scope
	Permanent bool
	Verdict   Verdict
	// Title is a short name for the reason ("Unknown recipient").
	Title string
	// Meaning says what happened, Why why it typically happens, Fix what
	// to do about it (steps separated by newlines).
	Meaning, Why, Fix string
}

// Explain returns the explanation of reason r in lang ("en" or "de"). It
// returns ErrUnknownLanguage or ErrUnknownReason for input it has no text for.
func Explain(r Reason, lang string) (Explanation, error) {
	texts, ok := explanations[strings.ToLower(lang)]
	if !ok {
		return Explanation{}, fmt.Errorf("explaining %q in %q: %w", r, lang, ErrUnknownLanguage)
	}
	t, ok := texts[r]
	if !ok {
		return Explanation{}, fmt.Errorf("explaining %q: %w", r, ErrUnknownReason)
	}
	c := ClassificationOf(r)
	return Explanation{
		Reason: r, Scope: c.Scope, Permanent: c.Permanent, Verdict: c.Verdict,
		Title: t.title, Meaning: t.meaning, Why: t.why, Fix: t.fix,
	}, nil
}

// CodeExplanation says what an SMTP reply code and/or enhanced status code
// means and which reason it most likely stands for.
type CodeExplanation struct {
	// ReplyCode is the SMTP reply code given (0 if none), ReplyText its
	// RFC 5321 meaning.
	ReplyCode int
	ReplyText string
	// Status is the enhanced status code given ("" if none), StatusClass
	// and StatusText its RFC 3463 meaning.
	Status      string
	StatusClass string
	StatusText  string
	// Ambiguous is true when the code alone does not settle the reason
	// (5.7.1, 550): the server's text decides, and Explanation is only the
	// most likely reading.
	Ambiguous bool
	// Guide explains the code in practice where bounced has a guide for it
	// (GuidedCodes): every reading, what decides, causes and fixes. It is
	// the zero CodeGuide for other codes.
	Guide CodeGuide
	// Explanation is the most likely reason, explained. For a transient
	// code (4xx, 4.x.x) Permanent is false whatever the reason.
	Explanation
}

// likelyReply is the most likely reason for reply codes whose classification
// fallback is deliberately empty (so that they suppress no one on their own),
// for `bounced explain` only.
var likelyReply = map[int]Reason{
	C550MailboxUnavail: ReasonUserUnknown,      // RFC 5321: "mailbox unavailable"
	C553BadMailbox:     ReasonBadSenderAddress, // mostly a From/envelope sender the server will not take
}

// ExplainCode explains an SMTP reply code ("552"), an enhanced status code
// ("5.7.26") or both ("550 5.1.1", "550-5.1.1") in lang. The reason is the
// one Classify gives the codes without any text; for 550 and 553 alone,
// which Classify leaves to the text, it is the most likely reading
// (user_unknown, bad_sender_address). Ambiguous says when the code alone
// does not settle the reason. For the codes of GuidedCodes, Guide lists
// every reading and what decides between them. It returns ErrUnknownCode for other input and
// ErrUnknownLanguage for a language without texts.
func ExplainCode(code, lang string) (CodeExplanation, error) {
	if _, ok := explanations[strings.ToLower(lang)]; !ok {
		return CodeExplanation{}, fmt.Errorf("explaining %q in %q: %w", code, lang, ErrUnknownLanguage)
	}
	reply, status, err := parseCodeInput(code)
	if err != nil {
		return CodeExplanation{}, err
	}
	lang = strings.ToLower(lang)
	ce := CodeExplanation{ReplyCode: reply, Status: status}
	if reply != 0 {
		ce.ReplyText = replyTitle(reply, lang)
	}
	specific := false
	if status != "" {
		ce.StatusClass = statusClassTitle(status[0], lang)
		ce.StatusText = statusTitleIn(status, lang)
		if si, ok := lookupStatus(status); ok {
			specific = si.Specific
		}
	}
	r := Classify(Evidence{Kind: KindDSN, Status: status, SMTPCode: reply}).Reason
	if r == ReasonUnknown {
		if lr, ok := likelyReply[reply]; ok {
			r = lr
		}
	}
	ce.Ambiguous = !specific
	ce.Explanation, err = Explain(r, lang)
	if err != nil {
		return ce, err
	}
	if transientCode(reply, status) {
		ce.Permanent = false // RFC 5321 4.2.1: a 4yz reply is a transient failure
	}
	guideReply := reply
	if specific {
		guideReply = 0 // "550 5.1.1": the status settles it; the 550 guide's readings would mislead
	}
	ce.Guide, _ = guideFor(guideReply, status, lang)
	if len(ce.Guide.Readings) > 1 {
		ce.Ambiguous = true
	}
	return ce, nil
}

// parseCodeInput reads "552", "5.7.26", "550 5.1.1" or "550-5.1.1".
func parseCodeInput(s string) (reply int, status string, err error) {
	fields := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == ' ' || r == '-' || r == '\t' })
	if len(fields) == 0 || len(fields) > 2 {
		return 0, "", fmt.Errorf("reading code %q: %w", s, ErrUnknownCode)
	}
	for _, f := range fields {
		f = strings.TrimPrefix(f, "#")
		switch {
		case len(f) == 3 && reply == 0:
			n, convErr := strconv.Atoi(f)
			if convErr != nil || n < 200 || n > 599 {
				return 0, "", fmt.Errorf("reading code %q: %w", s, ErrUnknownCode)
			}
			reply = n
		case status == "" && statusAt(f, 0) == len(f) && len(f) > 0:
			status = f
		default:
			return 0, "", fmt.Errorf("reading code %q: %w", s, ErrUnknownCode)
		}
	}
	return reply, status, nil
}

// statusClassTitle names the class digit of an enhanced status code.
func statusClassTitle(c byte, lang string) string {
	de := lang == "de"
	switch {
	case c == '2' && de:
		return "Erfolg"
	case c == '2':
		return "Success"
	case c == '4' && de:
		return "Vorübergehender Fehler"
	case c == '4':
		return "Persistent transient failure"
	case c == '5' && de:
		return "Dauerhafter Fehler"
	case c == '5':
		return "Permanent failure"
	}
	return ""
}

// replyTitle describes a reply code in lang: its RFC text, else its class.
func replyTitle(code int, lang string) string {
	if lang == "de" {
		if t, ok := replyTitlesDE[code]; ok {
			return t
		}
	} else if ri, ok := replyTable[code]; ok {
		return ri.Title
	}
	class := map[string][6]string{
		"en": {"", "", "Positive completion", "Positive intermediate", "Transient negative completion", "Permanent negative completion"},
		"de": {"", "", "Erfolgreich abgeschlossen", "Zwischenantwort", "Vorübergehend fehlgeschlagen", "Dauerhaft fehlgeschlagen"},
	}[lang][code/100]
	if lang == "de" {
		return class + " (Code nicht in RFC 5321 definiert)"
	}
	return class + " (code not defined by RFC 5321)"
}

// statusTitleIn describes an enhanced status code in lang.
func statusTitleIn(code, lang string) string {
	if lang != "de" {
		return statusTitle(code)
	}
	if t, ok := statusTitlesDE[code]; ok {
		return t
	}
	if t, ok := statusTitlesDE[code[2:]]; ok {
		return t
	}
	if t, ok := subjectTitlesDE[code[2]]; ok {
		return t + " (Code nicht registriert; herstellerspezifisches Detail)"
	}
	return ""
}
