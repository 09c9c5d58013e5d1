package dsn

import (
	"strings"
	"time"
)

// field is one "Name: value" line of a delivery-status or feedback-report
// body, unfolded, with the name in canonical lower case.
type field struct {
	name  string
	value string
}

// splitFieldGroups reads an RFC 3464 section 2.1 body: groups of header-style
// fields separated by blank lines. It is tolerant of what real servers
// write: CRLF or LF line ends, folded lines, odd case, stray text lines
// (skipped), and leading blank lines.
func splitFieldGroups(body string) [][]field {
	// All fields go in one slice, sized for a field a line (up to what
	// real reports hold, so that a body of blank lines costs nothing); the
	// groups are cut from it at the end, when it no longer moves.
	fields := make([]field, 0, min(strings.Count(body, "\n")+1, 64))
	var ends []int // where each group ends in fields
	start := 0
	flush := func() {
		if len(fields) > start {
			ends = append(ends, len(fields))
			start = len(fields)
		}
	}
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) > start { // a continuation line (RFC 5322 folding)
				last := &fields[len(fields)-1]
				last.value += " " + strings.TrimSpace(line)
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		fields = append(fields, field{name: lowerFieldName(name), value: strings.TrimSpace(value)})
	}
	flush()
	groups := make([][]field, len(ends))
	for i, end := range ends {
		begin := 0
		if i > 0 {
			begin = ends[i-1]
		}
		groups[i] = fields[begin:end:end]
	}
	return groups
}

// statusFieldNames are the field names of delivery-status and feedback
// reports, lower case: lowerFieldName returns these without a copy.
var statusFieldNames = []string{
	"final-recipient", "original-recipient", "action", "status", "remote-mta",
	"diagnostic-code", "last-attempt-date", "will-retry-until", "reporting-mta",
	"arrival-date", "original-envelope-id", "received-from-mta", "x-postfix-queue-id",
	"x-postfix-sender", "feedback-type", "user-agent", "version", "original-rcpt-to",
	"original-mail-from", "source-ip", "removal-recipient", "reported-domain",
}

// lowerFieldName is strings.ToLower for a field name, without allocating
// for the names reports use.
func lowerFieldName(name string) string {
	for _, n := range statusFieldNames {
		if len(n) == len(name) && asciiEqualFold(name, n) {
			return n
		}
	}
	return strings.ToLower(name)
}

// perMessage holds the RFC 3464 section 2.2 fields.
type perMessage struct {
	reportingMTA       string
	arrivalDate        time.Time
	originalEnvelopeID string
}

// decodeDeliveryStatus reads the body of a message/delivery-status part into
// the per-message fields and one Recipient per per-recipient group. A group
// is per-recipient when it names a recipient, an action or a status; some
// servers omit the blank line between the per-message and the first
// per-recipient group, or between two recipients' groups: a repeated
// Final-Recipient, Action or Original-Recipient then starts a new
// recipient, so that each is read from its own fields only.
func decodeDeliveryStatus(body string) (perMessage, []Recipient) {
	var pm perMessage
	var recips []Recipient
	for _, group := range splitFieldGroups(body) {
		var cur *Recipient
		var pending []field // recipient fields seen before the group named its recipient
		for _, f := range group {
			switch f.name {
			case "reporting-mta":
				pm.reportingMTA = hostName(typedValue(f.value))
				continue
			case "arrival-date":
				pm.arrivalDate = parseDate(f.value)
				continue
			case "original-envelope-id":
				pm.originalEnvelopeID = f.value
				continue
			case "received-from-mta", "dsn-gateway", "x-original-message-id", "x-postfix-queue-id", "x-postfix-sender", "x-sendmail-original-message-id":
				continue
			}
			startsRecipient := f.name == "final-recipient" || f.name == "original-recipient" ||
				f.name == "action" || f.name == "status"
			switch {
			case cur == nil && !startsRecipient:
				pending = append(pending, f)
				continue
			case cur == nil,
				f.name == "final-recipient" && cur.Address != "",
				f.name == "original-recipient" && cur.Address != "" && cur.OriginalRecipient != "",
				f.name == "action" && cur.Action != "" && cur.Address != "":
				recips = append(recips, Recipient{})
				cur = &recips[len(recips)-1]
				for _, p := range pending {
					setRecipientField(cur, p)
				}
				pending = nil
			}
			setRecipientField(cur, f)
		}
	}
	// A group that had neither a recipient address nor an action nor a
	// status (only an X- field) was never started; drop empty leftovers.
	out := recips[:0]
	for _, r := range recips {
		if r.Address != "" || r.OriginalRecipient != "" || r.Status != "" || r.Action != "" {
			out = append(out, r)
		}
	}
	return pm, out
}

// setRecipientField stores one per-recipient field (RFC 3464 section 2.3).
func setRecipientField(r *Recipient, f field) {
	switch f.name {
	case "final-recipient":
		r.Address = normalizeAddress(typedValue(f.value))
	case "original-recipient":
		r.OriginalRecipient = normalizeAddress(typedValue(f.value))
	case "action":
		r.Action = parseAction(f.value)
	case "status":
		if st, _ := findStatus(f.value); st != "" {
			r.Status = st
		}
	case "remote-mta":
		r.RemoteMTA = hostName(typedValue(f.value))
	case "diagnostic-code":
		if isExitStatus(f.value) {
			// "X-Unix; 255": Sendmail's report of a local delivery program
			// (a pipe, a mailer) gives its exit status, which is no SMTP
			// reply ("255" would read as one). It is kept for audit; the
			// text's transcript says what happened.
			if r.Extra == nil {
				r.Extra = make(map[string]string)
			}
			r.Extra[f.name] = f.value
			return
		}
		r.Diagnostic = typedValue(f.value)
	case "last-attempt-date":
		r.LastAttemptDate = parseDate(f.value)
	case "will-retry-until":
		r.WillRetryUntil = parseDate(f.value)
	default:
		if r.Extra == nil {
			r.Extra = make(map[string]string)
		}
		r.Extra[f.name] = f.value
	}
}

// typedValue strips the RFC 3464 type prefix ("rfc822;", "dns;", "smtp;")
// from a field value. Values without a prefix are returned trimmed.
func typedValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 12 && !strings.ContainsAny(v[:i], " <@\"") {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// isExitStatus reports a Diagnostic-Code of type X-Unix whose value is a
// bare number: a local program's exit status.
func isExitStatus(v string) bool {
	typ, val, ok := strings.Cut(v, ";")
	if !ok || !strings.EqualFold(strings.TrimSpace(typ), "x-unix") {
		return false
	}
	val = strings.TrimSpace(val)
	return val != "" && digitsAt(val, 0) == len(val)
}

// parseAction maps an Action field to a known Action. Servers add comments
// ("failed (bad destination mailbox)") and odd case; unknown values come back
// as written, lower-cased.
func parseAction(v string) Action {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, " \t(;"); i > 0 {
		v = v[:i]
	}
	switch Action(v) {
	case ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		return Action(v)
	case "failure", "fail", "bounced", "rejected":
		return ActionFailed
	case "delay":
		return ActionDelayed
	case "deliverable", "success", "succeeded":
		return ActionDelivered
	}
	return Action(v)
}

// dateLayouts are the date forms seen in DSN fields, RFC 5322 first.
var dateLayouts = []string{
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 02 Jan 2006 15:04:05 -0700 (MST)",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	time.RFC1123,
	"Mon, 2 Jan 2006 15:04 -0700",
	time.RFC3339,
}

// parseDate parses a date-time field; an unparsable one is the zero time,
// never "now".
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// hostName keeps the host of an MTA field and drops the comment servers add
// ("mx.example.net. (192.0.2.1, the server for the domain example.net.)").
func hostName(v string) string {
	if i := strings.IndexAny(v, " \t("); i > 0 {
		v = v[:i]
	}
	return strings.TrimSuffix(v, ".")
}
