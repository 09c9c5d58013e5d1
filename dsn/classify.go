package dsn

import (
	"strings"
	"unicode/utf8"
)

// Evidence is what Classify reads for one recipient.
type Evidence struct {
	Kind         Kind
	Action       Action
	Status       string // enhanced status as found in the message, "" if none
	SMTPCode     int    // SMTP reply code, 0 if none
	Diagnostic   string // the server's own words
	FeedbackType string // ARF Feedback-Type, for KindARF
}

// reasonInfo is a row of the DESIGN.md reason table.
type reasonInfo struct {
	Scope     Scope
	Permanent bool
}

// reasonTable is the DESIGN.md reason table: who has to act, and whether the
// failure is permanent. The order is the table's order; Reasons returns it.
var reasonTable = []struct {
	Reason Reason
	reasonInfo
}{
	{ReasonUserUnknown, reasonInfo{ScopeRecipient, true}},
	{ReasonMailboxDisabled, reasonInfo{ScopeRecipient, true}},
	{ReasonHostUnknown, reasonInfo{ScopeRecipient, true}},
	{ReasonBadRecipientSyntax, reasonInfo{ScopeRecipient, true}},
	{ReasonMailboxFull, reasonInfo{ScopeRecipient, false}},
	{ReasonComplaint, reasonInfo{ScopeRecipient, true}},
	{ReasonAuthFailure, reasonInfo{ScopeSender, true}},
	{ReasonBlocklisted, reasonInfo{ScopeSender, true}},
	{ReasonSpamContent, reasonInfo{ScopeSender, true}},
	{ReasonPolicyRejected, reasonInfo{ScopeSender, true}},
	{ReasonBadSenderAddress, reasonInfo{ScopeSender, true}},
	{ReasonRelayDenied, reasonInfo{ScopeSender, true}},
	{ReasonMessageTooLarge, reasonInfo{ScopeSender, true}},
	{ReasonVirus, reasonInfo{ScopeSender, true}},
	{ReasonRateLimited, reasonInfo{ScopeSender, false}},
	{ReasonGreylisted, reasonInfo{ScopeTransient, false}},
	{ReasonServerError, reasonInfo{ScopeTransient, false}},
	{ReasonNetworkError, reasonInfo{ScopeTransient, false}},
	{ReasonExpired, reasonInfo{ScopeTransient, false}},
	{ReasonDelayed, reasonInfo{ScopeTransient, false}},
	{ReasonAutoReply, reasonInfo{ScopeNone, false}},
	{ReasonDelivered, reasonInfo{ScopeNone, false}},
	{ReasonUnknown, reasonInfo{ScopeNone, false}},
}

var reasonInfos = func() map[Reason]reasonInfo {
	m := make(map[Reason]reasonInfo, len(reasonTable))
	for _, r := range reasonTable {
		m[r.Reason] = r.reasonInfo
	}
	return m
}()

// Reasons returns all reasons in the order of the DESIGN.md reason table.
func Reasons() []Reason {
	out := make([]Reason, len(reasonTable))
	for i, r := range reasonTable {
		out[i] = r.Reason
	}
	return out
}

// ParseReason returns the reason named s ("user_unknown"), case-insensitive
// and tolerant of '-' for '_'; ok is false for a name that is not a reason.
func ParseReason(s string) (Reason, bool) {
	r := Reason(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_"))
	_, ok := reasonInfos[r]
	return r, ok
}

// ClassificationOf returns the scope, permanence and verdict that go with a
// reason (DESIGN.md "Reasons" and "Verdicts"). An unknown reason yields
// ReasonUnknown's classification.
func ClassificationOf(r Reason) Classification {
	info, ok := reasonInfos[r]
	if !ok {
		r, info = ReasonUnknown, reasonInfos[ReasonUnknown]
	}
	return Classification{Reason: r, Scope: info.Scope, Permanent: info.Permanent, Verdict: verdictOf(r, info)}
}

// verdictOf applies the DESIGN.md verdict policy defaults.
func verdictOf(r Reason, info reasonInfo) Verdict {
	switch {
	case r == ReasonComplaint:
		return VerdictSuppress // a complaint is always honoured
	case info.Scope == ScopeRecipient && info.Permanent:
		return VerdictSuppress // the address is dead: clean the list
	case r == ReasonMailboxFull, info.Scope == ScopeTransient:
		return VerdictSoft // counted; suppressed only when it repeats
	case info.Scope == ScopeSender:
		return VerdictAlert // the sender's problem: never suppress the recipient
	default:
		return VerdictIgnore
	}
}

// Classify decides the reason, scope, permanence and verdict for one
// recipient from its kind, action, enhanced status, reply code and the
// server's own words.
//
// The message kind and action decide first: an ARF report is a complaint
// unless its Feedback-Type says otherwise (see feedbackReason), an
// auto-reply is auto_reply, a delivered/relayed/expanded action is delivered
// and a delayed action is a delayed warning, whatever its status says.
//
// A failure is classified from three signals together (see decide): the
// enhanced status (the Evidence's, or when that is missing or only a class
// such as Exim's 5.0.0, the one the text carries), the phrase tables of
// phrases.go over the text, and the SMTP reply code. Two rules bound the
// result: a sender-side phrase (blocklist, DMARC, spam, relay, virus, rate,
// sender address) is never overruled into a recipient-side reason, and a
// failed action with only a transient (4.x.x) status is a message given up
// on (expired) unless the text names the cause.
func Classify(ev Evidence) Classification {
	switch ev.Kind {
	case KindARF:
		return ClassificationOf(feedbackReason(ev.FeedbackType))
	case KindAutoReply:
		return ClassificationOf(ReasonAutoReply)
	}
	switch Action(strings.ToLower(string(ev.Action))) {
	case ActionDelivered, ActionRelayed, ActionExpanded:
		return ClassificationOf(ReasonDelivered)
	case ActionDelayed:
		return ClassificationOf(ReasonDelayed)
	}
	c := ClassificationOf(decide(ev))
	if c.Reason == ReasonUnknown && failedForGood(ev) {
		// DESIGN.md, Verdicts: a permanent failure that names no cause
		// ("Delivery to the following recipients failed.") keeps reason
		// unknown but counts as a soft bounce, the way a list manager's
		// bounce score counts every bounce: a dead address that bounces
		// three times is cleaned, a single vague message removes no one.
		c.Verdict = VerdictSoft
	}
	return c
}

// failedForGood reports whether the evidence is a permanent failure: a
// failed action, or a permanent (5.x.x, 5xx) status or reply.
func failedForGood(ev Evidence) bool {
	if Action(strings.ToLower(string(ev.Action))) == ActionFailed {
		return true
	}
	status, reply := codesOf(ev)
	return status != "" && status[0] == '5' || status == "" && reply/100 == ClassPermanent
}

// feedbackReason maps an ARF Feedback-Type (RFC 5965 section 7.3, RFC 6591)
// to a reason. Only reports of what the recipient did are complaints:
//
//   - abuse, fraud, other and unknown types: complaint (the recipient
//     reported the message; honour it). So is "unsubscribe", Parse's type
//     for a mail client's unsubscribe request (Apple Mail).
//   - auth-failure: a DMARC/SPF/DKIM failure report (RFC 6591) about the
//     sender's authentication, sent by the receiving system and not by the
//     recipient: auth_failure, never a suppression.
//   - virus: the receiving system found malware in the message: virus.
//   - not-spam: the recipient says the message was wrongly filtered, which
//     is no failure at all: unknown, ignored.
func feedbackReason(feedbackType string) Reason {
	switch strings.ToLower(strings.TrimSpace(feedbackType)) {
	case "auth-failure":
		return ReasonAuthFailure
	case "virus":
		return ReasonVirus
	case "not-spam":
		return ReasonUnknown
	default:
		return ReasonComplaint
	}
}

// signals is what decide knows about one failure when it arbitrates
// between the status code and the text: the reason the code stands for
// (code, specific per statusTable), the reasons the text's phrases name, the
// status class and the reply code.
type signals struct {
	code     Reason
	specific bool
	class    int
	reply    int
	ms       matchSet
	strong   Reason // the highest-precedence strong phrase's reason, "" if none
	weak     Reason // the same for the weak phrases
}

// suppresses reports whether a reason, taken alone, removes the address.
func suppresses(r Reason) bool { return ClassificationOf(r).Verdict == VerdictSuppress }

// textContradicts reports whether the text's strong reason says something
// the specific code does not, in a way that changes what is done about the
// recipient: one of them suppresses and the other does not. "Gave up" is no
// contradiction of a specific permanent code: it only wraps the last error.
func (s *signals) textContradicts() bool {
	if s.strong == "" {
		return false
	}
	if s.strong == ReasonExpired && s.class == ClassPermanent {
		return false
	}
	return suppresses(s.code) != suppresses(s.strong)
}

// arbitration is the one table that decides between what the status code
// says and what the server's words say. Its rows are tried in order; the
// first whose condition holds picks the reason. Three principles shape it:
//
//   - Specific codes (statusTable entries marked Specific: X.1.1, X.1.2,
//     X.1.10, X.2.1, X.2.2, X.3.4, X.4.4, X.7.26 …) win when the text does
//     not contradict them. Catch-alls that servers send for anything (X.0.0,
//     5.5.0, 5.7.0, 5.7.1, a 554 without a code) are not specific, and yield
//     to specific text.
//   - When code and text disagree about whether the recipient is at fault,
//     the reading that suppresses nobody wins: a wrong alert or soft count
//     costs little, a wrong suppression removes a good subscriber.
//   - Generic policy words ("policy", "not accepted", "prohibited") are the
//     text's catch-all (weak phrases): they never overrule a specific code.
//     Named policies ("HELO rejected", "TLS required") are strong.
//
// adjust then applies the rules about the SMTP stage, DNS trouble, given-up
// messages and text that names our own side.
var arbitration = []struct {
	name string
	when func(s *signals) bool
	pick func(s *signals) Reason
}{
	{
		// "552 5.2.2 mailbox size limit exceeded": a specific code the text
		// confirms, and a reading that suppresses nobody.
		"code and text agree, no suppression",
		func(s *signals) bool { return s.specific && s.ms.has(s.code) && !suppresses(s.code) },
		func(s *signals) Reason { return s.code },
	},
	{
		// A blocklist, DMARC, spam, relay, virus, rate or sender-address
		// phrase: the sender's problem, whatever the code says ("550 5.1.1
		// blocked using zen.spamhaus.org"). Safety first. The phrases'
		// precedence still holds among them: "452 Mailbox size limit
		// exceeded" is a full mailbox (a soft verdict) before it is a size
		// limit, so the top phrase must be the sender-side one.
		"the text names a sender-side cause",
		func(s *signals) bool {
			return scopeOf(topReason(s.ms.strong&^bitOf(ReasonPolicyRejected))) == ScopeSender
		},
		func(s *signals) Reason { return topReason(s.ms.strong & senderMask) },
	},
	{
		// "550 5.1.1 user unknown".
		"code and text agree",
		func(s *signals) bool { return s.specific && s.ms.has(s.code) },
		func(s *signals) Reason { return s.code },
	},
	{
		// 5.7.26, 5.3.4: the code names the sender's problem outright.
		"specific sender-side code",
		func(s *signals) bool { return s.specific && scopeOf(s.code) == ScopeSender },
		func(s *signals) Reason { return s.code },
	},
	{
		// "550 5.1.1 mailbox full" or "552 5.2.2 user unknown": one reading
		// suppresses, the other does not. Take the one that does not.
		"code and text disagree about suppressing",
		func(s *signals) bool { return s.specific && s.textContradicts() },
		func(s *signals) Reason {
			if suppresses(s.code) {
				return s.strong
			}
			return s.code
		},
	},
	{
		// "550 5.7.1 No mailbox found", "over quota (#5.1.1)" under a
		// catch-all: the text names the cause.
		"text names the cause",
		func(s *signals) bool { return s.strong != "" },
		func(s *signals) Reason { return s.strong },
	},
	{
		// "550 5.1.1 rejected by local policy": generic policy words are
		// weak phrases, the text's catch-all, and never overrule a
		// specific code.
		"specific code, the text says nothing specific",
		func(s *signals) bool { return s.specific },
		func(s *signals) Reason { return s.code },
	},
	{
		// Weak words only ("rejected", "try again later"). A recipient-side
		// weak word does not overrule a sender-side code: 5.7.1 "recipient
		// address rejected" stays a policy rejection.
		"weak words",
		func(s *signals) bool {
			return s.weak != "" && !(s.code != "" && scopeOf(s.weak) == ScopeRecipient && scopeOf(s.code) == ScopeSender)
		},
		func(s *signals) Reason {
			if s.code != "" && s.ms.weak&bitOf(s.code) != 0 {
				return s.code
			}
			return s.weak
		},
	},
}

// decide classifies a failure: it resolves the codes, matches the phrase
// tables, and applies the arbitration table. When no row applies, the
// generic code's reason is taken (5.7.1 policy, 5.1.0 unknown user), else
// the reply code's (552 mailbox full, 554 policy; 550 none), else unknown,
// or server_error for a transient class; adjust then bounds the result.
func decide(ev Evidence) Reason {
	if len(ev.Diagnostic) > maxDiagnostic {
		ev.Diagnostic = ev.Diagnostic[:maxDiagnostic]
	}
	status, reply := codesOf(ev)
	s := signals{reply: reply}
	if status != "" {
		s.class = int(status[0] - '0')
	} else if reply >= 200 && reply < 600 {
		s.class = reply / 100
	}

	s.ms = matcher.scan(appendNormalized(make([]byte, 0, 256), ev.Diagnostic), patterns)

	if status != "" {
		si, ok := lookupStatus(status)
		if !ok {
			si = subjectFallback(status)
		}
		s.code, s.specific = si.Reason, si.Specific
	}
	if s.class == ClassSuccess && s.ms.strong == 0 && s.ms.weak == 0 {
		return ReasonDelivered
	}
	if !s.specific && (reply == C521HostNoMail || reply == C556DomainNoMail) {
		// RFC 7504: the domain accepts no mail at all.
		s.code, s.specific = ReasonHostUnknown, true
	}

	if !s.specific && s.class == ClassPermanent && s.ms.strong == 0 && refusesOnlyTheAddress(ev.Diagnostic) {
		// "542 <a@b> Rejected": the server names the recipient and refuses
		// it, and gives no other cause. A refusal of the sender or the
		// message names neither the recipient alone nor nothing else.
		s.code, s.specific = ReasonUserUnknown, true
	}

	s.strong, s.weak = topReason(s.ms.strong), topReason(s.ms.weak)
	for _, row := range arbitration {
		if row.when(&s) {
			return adjust(ev, row.pick(&s), status, s.class, false, s.ms)
		}
	}
	var r Reason
	switch {
	case s.code != "":
		r = s.code
	case replyTable[reply].Reason != "":
		r = replyTable[reply].Reason
	case s.class == ClassTransient:
		r = ReasonServerError
	default:
		r = ReasonUnknown
	}
	return adjust(ev, r, status, s.class, true, s.ms)
}

// adjust applies the rules that bound decide's choice:
//
//   - A refusal at connection, HELO or MAIL FROM time (senderStagePhrases)
//     is about the sender: an address reason there is the sender's address,
//     a storage refusal is the message size (MAIL FROM SIZE=), anything else
//     unknown is a policy rejection.
//   - A refusal of the message content (dataStagePhrases) comes after the
//     server accepted the address at RCPT TO: a claim there that the
//     address does not exist contradicts that (NTT docomo's filter answers
//     "550 Unknown user" to the end of DATA) and is a policy rejection,
//     never a suppression. A disabled or full mailbox may well be found
//     only at delivery, and stays.
//   - Text that names the sending side (ourSidePhrases: our HELO name,
//     our domain, our IP, the header of the message we sent) is never a
//     recipient problem: a reason that would blame the recipient becomes
//     a policy rejection. A full mailbox stays: it only counts softly.
//   - A failure reported by a local delivery program (deliveryCommandPhrases:
//     a pipe, procmail, maildrop) is the receiving server's: server_error.
//     Its words and its status come from an exit code ("No such user" when
//     procmail cannot create a mailbox file), not from the address.
//   - A host that does not resolve under a transient code (4.x.x) is a DNS
//     problem that may pass: network_error, never a suppression. A null MX
//     (nullMXPhrases) is final whatever the code.
//   - The sending MTA gave up when a failed action carries a transient code
//     (Postfix reports that as failed with the last 4.x.x) or the text says
//     so ("in the queue too long"). When the text named no cause, the reason
//     is expired. When the last error was that no connection could be made
//     (x.4.1 no answer, x.4.2 bad connection, or no code at all), it is
//     expired too: a host unreachable for days says no more than that. So
//     is a failed action without a failure code whose text calls a
//     connection failure permanent (finalPhrases). Any other cause the text
//     names (a full mailbox, a DNS failure, a server error, a block) is kept:
//     it tells the operator more than "gave up".
func adjust(ev Evidence, r Reason, status string, class int, fromFallback bool, ms matchSet) Reason {
	if ms.senderStage {
		switch r {
		case ReasonUserUnknown, ReasonHostUnknown, ReasonBadRecipientSyntax, ReasonMailboxDisabled:
			r = ReasonBadSenderAddress
		case ReasonMailboxFull:
			r = ReasonMessageTooLarge
		case ReasonUnknown:
			if class == ClassPermanent {
				r = ReasonPolicyRejected
			}
		}
	}
	if ms.dataStage {
		switch r {
		case ReasonUserUnknown, ReasonHostUnknown, ReasonBadRecipientSyntax:
			r = ReasonPolicyRejected
		}
	}
	if ms.ourSide && scopeOf(r) == ScopeRecipient && r != ReasonMailboxFull {
		r = ReasonPolicyRejected
	}
	if ms.command && scopeOf(r) != ScopeSender {
		return ReasonServerError
	}
	if class == ClassTransient && r == ReasonHostUnknown && !ms.nullMX {
		return ReasonNetworkError
	}
	action := Action(strings.ToLower(string(ev.Action)))
	gaveUp := action == ActionFailed && class == ClassTransient || action == "expired" ||
		class == ClassTransient && ms.strong&bitOf(ReasonExpired) != 0
	noConnection := r == ReasonNetworkError && (status == "" ||
		len(status) > 2 && (status[2:] == SeNet4NoAnswer1 || status[2:] == SeNet4BadConn2))
	if gaveUp && (fromFallback || r == ReasonUnknown || noConnection) {
		return ReasonExpired
	}
	if noConnection && action == ActionFailed && class != ClassPermanent && ms.final {
		// A failure without a failure code that calls itself permanent
		// while its words say only that no connection could be made: the
		// MTA gave up on the host (Gmail's "permanent failure: the recipient
		// server did not accept our requests to connect").
		return ReasonExpired
	}
	return r
}

// refusesOnlyTheAddress reports whether the server's text is a reply code
// or status, one address and a bare refusal word, nothing else:
// "542 <a@b> Rejected", "550 rejected: a@b".
func refusesOnlyTheAddress(text string) bool {
	addresses, refusal := 0, false
	for _, f := range strings.Fields(text) {
		switch {
		case codeTokenLen(f, 0) == len(f):
		case strings.Contains(f, "@"):
			addresses++
		default:
			switch strings.ToLower(strings.Trim(f, ":.,;<>()")) {
			case "rejected", "refused":
				if refusal {
					return false
				}
				refusal = true
			default:
				return false
			}
		}
	}
	return addresses == 1 && refusal
}

// maxDiagnostic bounds the text Classify reads: a server's reply is a few
// hundred bytes, and a whole bounce body passed by mistake must not make
// classification slow.
const maxDiagnostic = 64 << 10

// subjectFallback is what an unregistered code (vendor details such as
// 5.7.509 or 4.7.650) means by its subject alone: never specific.
func subjectFallback(status string) statusInfo {
	var r Reason
	switch status[2] {
	case '3', '5':
		r = ReasonServerError
	case '4':
		r = ReasonNetworkError
	case '6', '7':
		r = ReasonPolicyRejected
	}
	return statusInfo{Reason: r}
}

// ResolveCodes returns the enhanced status and SMTP reply code Classify
// reads for ev: the Evidence's own where they are usable, else the ones the
// diagnostic text carries (findReply). A status that is missing, malformed
// or only a class (Exim's 5.0.0) yields to a more specific one in the text
// ("550 5.1.1 ..."); a reply code of 0 yields to the text's. The status is
// "" when neither has one: then InferStatus supplies it.
//
// Parse uses it to report the status and reply code a recipient really had.
func ResolveCodes(ev Evidence) (status string, smtpCode int) { return codesOf(ev) }

// codesOf implements ResolveCodes.
func codesOf(ev Evidence) (string, int) {
	status := cleanStatus(ev.Status)
	reply := ev.SMTPCode
	if status == "" || isClassOnly(status) || reply == 0 {
		tr, ts := findReply(ev.Diagnostic)
		if ts != "" && (status == "" || isClassOnly(status) && !isClassOnly(ts)) {
			status = ts
		}
		if reply == 0 {
			reply = tr
		}
	}
	return status, reply
}

// cleanStatus returns s if it is a syntactically valid enhanced status code
// (class 2, 4 or 5; subject and detail of 1 to 3 digits), else "".
func cleanStatus(s string) string {
	s = strings.TrimSpace(s)
	n := statusAt(s, 0)
	switch {
	case n > 0 && n == len(s):
		return s
	case n > 0 && (s[n] == ' ' || s[n] == '('): // "5.1.1 (bad destination)": keep the code
		return s[:n]
	}
	return ""
}

// isClassOnly reports a status that carries only its class (x.0.0), as Exim
// always writes.
func isClassOnly(s string) bool { return strings.HasSuffix(s, ".0.0") }

// normalize prepares text for phrase matching: lower case, typographic
// apostrophes folded to ASCII, SMTP reply and status codes dropped (Postfix
// folds "550-5.1.1" continuation markers into the middle of sentences),
// e-mail addresses replaced by a "|" that no phrase spans, and runs of
// white space collapsed to one space.
func normalize(s string) string {
	return string(appendNormalized(nil, s))
}

// appendNormalized appends the normalized form of s to buf.
func appendNormalized(buf []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = strings.ToLower(strings.ReplaceAll(s, "\u2019", "'"))
	}
	space := true // no leading space
	for i := 0; i < len(s); {
		b := s[i]
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' {
			if !space {
				buf = append(buf, ' ')
				space = true
			}
			i++
			continue
		}
		if space {
			if isDigit(b) || b == '#' {
				if n := codeTokenLen(s, i); n > 0 {
					i += n
					continue
				}
				if n := countTokenLen(s, i); n > 0 {
					// A count ("20 attempts", "5 hour(s)") is "#": phrases
					// speak of a number of attempts, not of twenty.
					buf = append(buf, '#')
					i += n
					space = false
					continue
				}
			}
			// Addresses say nothing about the failure, and their local parts
			// ("filtered@", "spam@", "nosuchuser@") would match phrases.
			if keep, n := addressTokenLen(s, i); n > 0 {
				for _, c := range []byte(s[i : i+keep]) {
					if c >= 'A' && c <= 'Z' {
						c += 'a' - 'A'
					}
					buf = append(buf, c)
				}
				i += n
				// A dropped address still parts the words around it:
				// "unknown <a@b>: host" says nothing of an "unknown host".
				if len(buf) > 0 {
					if buf[len(buf)-1] != ' ' {
						buf = append(buf, ' ')
					}
					buf = append(buf, '|')
				}
				space = len(buf) == 0
				continue
			}
		}
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		buf = append(buf, b)
		space = false
		i++
	}
	if n := len(buf); n > 0 && buf[n-1] == ' ' {
		buf = buf[:n-1]
	}
	return buf
}

// addressTokenLen reports a white-space delimited token at s[i] that
// contains an e-mail address: n is the token's length (0 if it holds no
// '@', or is a URL, whose words are worth reading), keep the length of a
// prefix to keep ("FROM:" of "FROM:<a@b>").
func addressTokenLen(s string, i int) (keep, n int) {
	at := false
	j := i
	for ; j < len(s); j++ {
		c := s[j]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		switch c {
		case '@':
			at = true
		case ':':
			if strings.HasPrefix(s[j:], "://") {
				return 0, 0
			}
			if !at {
				keep = j + 1 - i
			}
		}
	}
	if !at {
		return 0, 0
	}
	return keep, j - i
}

// countTokenLen returns the length of a plain number at s[i] (one to six
// digits followed by white space, the end or punctuation other than a dot
// or a digit), 0 if none stands there. IP addresses, versions and
// dates with dots stay as they are.
func countTokenLen(s string, i int) int {
	j := i
	for j < len(s) && j-i <= 6 && isDigit(s[j]) {
		j++
	}
	if j == i || j-i > 6 {
		return 0
	}
	if j < len(s) {
		switch c := s[j]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ')' || c == ',' || c == ';':
		default:
			return 0
		}
	}
	return j - i
}

// codeTokenLen returns the length of a reply or status code token at s[i]
// ("550", "550-5.1.1", "#5.1.0", "4.4.1"), 0 if none starts there. The token
// must end at white space or the end of the text.
func codeTokenLen(s string, i int) int {
	j := i
	if s[j] == '#' {
		j++
	}
	if j == i && replyCodeAt(s, j) != 0 {
		j += 3
		if j < len(s) && s[j] == '-' {
			j++
		}
	}
	if n := statusAt(s, j); n > 0 {
		j += n
	}
	if j == i || s[i] == '#' && j == i+1 || j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
		return 0 // a lone "#" is no code: it stands for a count (countTokenLen)
	}
	return j - i
}

// InferStatus returns the RFC 3463 enhanced status code that stands for c when
// the message carried none: a registered code, never an invented one. The
// class comes from the SMTP reply code when known (450 → 4.x.x), else from
// the reason (permanent and sender-side reasons 5, transient ones 4). It
// returns "" only for ReasonUnknown without a reply code.
func InferStatus(c Classification, smtpCode int) string {
	class := byte(0)
	switch smtpCode / 100 {
	case 2:
		class = '2'
	case 4:
		class = '4'
	case 5:
		class = '5'
	}
	var detail string
	switch c.Reason {
	case ReasonUserUnknown:
		detail = SeAddr1UnknownDestMailbox1
	case ReasonMailboxDisabled:
		detail = SeMailbox2Disabled1
	case ReasonHostUnknown:
		detail = SeAddr1UnknownSystem2
	case ReasonBadRecipientSyntax:
		detail = SeAddr1MailboxSyntax3
	case ReasonMailboxFull:
		detail = SeMailbox2Full2
	case ReasonAuthFailure:
		detail = SePol7MultiAuthFails26
	case ReasonBlocklisted, ReasonSpamContent, ReasonPolicyRejected, ReasonRelayDenied, ReasonVirus:
		detail = SePol7DeliveryUnauth1
	case ReasonBadSenderAddress:
		detail = SeAddr1BadSenderSystemAddress8
	case ReasonMessageTooLarge:
		detail = SeSys3MsgLimitExceeded4
	case ReasonRateLimited:
		detail = SePol7Other0 // 421 4.7.0, the code most servers use for it
	case ReasonGreylisted:
		detail = SePol7DeliveryUnauth1
	case ReasonServerError:
		detail = SeSys3Other0
	case ReasonNetworkError:
		detail = SeNet4NoAnswer1
	case ReasonExpired:
		detail = SeNet4DeliveryExpired7
	case ReasonComplaint, ReasonAutoReply, ReasonDelivered:
		return "2.0.0" // the message was delivered
	case ReasonDelayed:
		detail = SeOther00
		if class == 0 || class == '5' {
			class = '4'
		}
	default:
		if class == 0 {
			return ""
		}
		detail = SeOther00
	}
	if class == 0 || class == '2' {
		class = '5'
		if info := reasonInfos[c.Reason]; !info.Permanent && c.Reason != ReasonMailboxFull {
			class = '4'
		}
	}
	return string(class) + "." + detail
}

// The compiled phrase tables.
var (
	matcher    phraseMatcher
	patterns   []acPattern
	senderMask uint32 // ranks of sender-side reasons
)

// rankOf maps a reason to its index in reasonPrecedence.
var rankOf = map[Reason]uint8{}

func init() {
	for i, r := range reasonPrecedence {
		rankOf[r] = uint8(i)
		if scopeOf(r) == ScopeSender {
			senderMask |= 1 << i
		}
	}
	var texts []string
	add := func(t phraseTable, list []string, word, weak bool) {
		for _, p := range list {
			n := normalize(p)
			texts = append(texts, n)
			patterns = append(patterns, acPattern{reason: t.Reason, rank: rankOf[t.Reason], n: len(n), word: word, weak: weak})
		}
	}
	for _, t := range phraseTables {
		if _, ok := rankOf[t.Reason]; !ok {
			panic("dsn: phrase table for " + string(t.Reason) + " has no precedence")
		}
		add(t, t.Phrases, false, false)
		add(t, t.Words, true, false)
		add(t, t.Weak, false, true)
	}
	// The context phrases: not reasons, but marks on the match set.
	for _, set := range []struct {
		phrases []string
		mark    acPattern
	}{
		{senderStagePhrases, acPattern{stage: true}},
		{nullMXPhrases, acPattern{nullMX: true}},
		{dataStagePhrases, acPattern{dataStage: true}},
		{deliveryCommandPhrases, acPattern{command: true}},
		{finalPhrases, acPattern{final: true}},
		{ourSidePhrases, acPattern{ourSide: true}},
		{adviceMarkers, acPattern{advice: true}},
	} {
		for _, p := range set.phrases {
			n := normalize(p)
			pat := set.mark
			pat.n = len(n)
			texts = append(texts, n)
			patterns = append(patterns, pat)
		}
	}
	matcher.build(texts)
}

func scopeOf(r Reason) Scope { return reasonInfos[r].Scope }

func bitOf(r Reason) uint32 {
	if rk, ok := rankOf[r]; ok {
		return 1 << rk
	}
	return 0
}

// has reports whether the text matched a phrase of r's table.
func (ms matchSet) has(r Reason) bool { return (ms.strong|ms.weak)&bitOf(r) != 0 }

// topReason returns the highest-precedence reason in a rank bitset, "" if
// the set is empty.
func topReason(set uint32) Reason {
	for i, r := range reasonPrecedence {
		if set&(1<<i) != 0 {
			return r
		}
	}
	return ""
}
