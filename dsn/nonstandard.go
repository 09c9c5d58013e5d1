package dsn

import (
	"strings"
	"unicode/utf8"
)

// This file reads bounces that carry no RFC 3464 report: the failed
// addresses and the SMTP replies stand in the human-readable text, written
// the way each MTA writes it. The rules here are general ones: where
// addresses stand, where the returned original starts, which lines carry
// the server's words. Phrase knowledge (what words mean) lives in the
// classification tables, not here.

// originalMarkers are phrases on the separator line that MTAs put between
// their explanation and the returned original, in lower case.
var originalMarkers = []string{
	"below this line is a copy of the message",        // qmail
	"this is a copy of the message",                   // Exim
	"original message",                                // Gmail, Exchange, many
	"returned message",                                // Sendmail-style
	"message headers follow",                          // Courier, Domino
	"header of the original message",                  // Japanese MTAs
	"headers of the original message",                 // …
	"original message headers",                        // …
	"unsent message below",                            // Sendmail, Lotus
	"message text follows",                            // mail.ru
	"copy of the message follows",                     // …
	"content-type: message/rfc822",                    // a MIME part inlined in text
	"rfc822 message follows",                          //
	"the message you sent follows",                    //
	"partial message follows",                         //
	"message that caused this notification",           //
	"the following is the original message",           //
	"the original message was",                        // only on separator lines (see isSeparator)
	"here is a copy of the first part of the message", //
}

// originalHeaderNames are header fields that show a header block of the
// returned original has started, in lower case with the colon.
var originalHeaderNames = []string{
	"received:", "return-path:", "message-id:", "dkim-signature:", "mime-version:",
	"x-received:", "domainkey-signature:", "authentication-results:", "delivered-to:",
}

// bounceText is a bounce's own words with their ASCII-lower-cased copy,
// made once: offsets into one are offsets into the other.
type bounceText struct {
	s     string
	lower string
}

// splitOriginal cuts the text of a bounce where the returned original
// starts: at a separator line naming it, or at a block of header lines. It
// returns the bounce's own words and the original (possibly "").
//
// Only the bounce's own words are lower-cased: the returned original is
// often the larger part, and nothing reads it in lower case.
func splitOriginal(text string) (human bounceText, original string) {
	pos := 0
	for pos < len(text) {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos
		}
		if isSeparatorFold(text[pos:end]) || startsHeaderBlock(text, pos) {
			return bounceText{s: text[:pos], lower: asciiLower(text[:pos])}, text[pos:]
		}
		pos = end + 1
	}
	return bounceText{s: text, lower: asciiLower(text)}, ""
}

// foreignOriginalMarkers are originalMarkers in the other languages that
// servers write their separators in, lower case. They count only on a line
// set off as a separator ("--- Mensagem original ---", "Původní zpráva:"):
// prose that mentions the original message is no separator.
var foreignOriginalMarkers = []string{
	"ursprüngliche nachricht", "originalnachricht", "message d'origine", "message original",
	"mensaje original", "mensagem original", "messaggio originale", "oorspronkelijk bericht",
	"исходное сообщение", "исходного сообщения", "původní zpráva", "oryginalna wiadomość",
	"原始邮件", "原始郵件", "元のメッセージ", "원본 메일", "원본 메시지",
}

// isSeparatorFold is isSeparator for a line in any case. Most lines do not
// name the message at all and are judged without lower-casing them.
func isSeparatorFold(line string) bool {
	if containsLowerFold(line, "messag") && isSeparator(asciiLower(line)) {
		return true
	}
	return isForeignSeparator(line)
}

// isForeignSeparator reports whether a line is a separator that names the
// original in another language (foreignOriginalMarkers).
func isForeignSeparator(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" || len(t) > 120 || !strings.Contains(t, "--") && !strings.Contains(t, "==") && !strings.HasSuffix(t, ":") {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] >= utf8.RuneSelf {
			// Capitals outside ASCII ("Исходное сообщение") need a full
			// fold, which copies the line.
			return containsAny(strings.ToLower(t), foreignOriginalMarkers)
		}
	}
	// The markers written in ASCII all name the "origin…" or the
	// "bericht": most lines (MIME boundaries, "… failed:") are out after
	// these two scans.
	if !containsLowerFold(t, "rigin") && !containsLowerFold(t, "bericht") {
		return false
	}
	for _, m := range foreignOriginalMarkers {
		if containsLowerFold(t, m) {
			return true
		}
	}
	return false
}

// isSeparator reports whether a lower-case line announces the returned
// original.
func isSeparator(line string) bool {
	trimmed := strings.TrimSpace(line)
	// Every marker names the message: most lines are out after one search.
	if trimmed == "" || len(trimmed) > 120 || !strings.Contains(trimmed, "messag") {
		return false
	}
	for _, m := range originalMarkers {
		if !strings.Contains(trimmed, m) {
			continue
		}
		// Prose like "The original message was received at …" is not a
		// separator; a separator is set off by punctuation or is short.
		if strings.Contains(trimmed, "--") || strings.Contains(trimmed, "==") ||
			strings.Contains(trimmed, "**") || strings.Contains(trimmed, "__") ||
			strings.HasSuffix(trimmed, ":") || strings.HasSuffix(trimmed, ".") && m == originalMarkers[0] ||
			len(trimmed) <= len(m)+4 {
			return true
		}
	}
	return false
}

// startsHeaderBlock reports whether the line at pos opens a header block of
// the returned original: a header line not indented, followed by another
// header line or a continuation, with a typical original field among the
// first lines. Field names are matched regardless of case.
func startsHeaderBlock(text string, pos int) bool {
	if pos >= len(text) || !isHeaderLine(lineAt(text, pos)) {
		return false
	}
	typical := false
	lines := 0
	for p := pos; p < len(text) && lines < 6; lines++ {
		line := lineAt(text, p)
		if strings.TrimSpace(line) == "" {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			if !isHeaderLine(line) {
				return false
			}
			for _, n := range originalHeaderNames {
				if len(line) >= len(n) && asciiEqualFold(line[:len(n)], n) {
					typical = true
				}
			}
		}
		p += len(line) + 1
	}
	return typical && lines >= 2
}

func lineAt(s string, pos int) string {
	if end := strings.IndexByte(s[pos:], '\n'); end >= 0 {
		return strings.TrimRight(s[pos:pos+end], "\r")
	}
	return strings.TrimRight(s[pos:], "\r")
}

// isHeaderLine reports whether line has the form "Field-Name: value".
func isHeaderLine(line string) bool {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 || colon > 40 {
		return false
	}
	for i := 0; i < colon; i++ {
		c := line[i]
		if !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// daemonLocals are local parts of the addresses of mail systems and their
// operators, which a bounce names but which never are the failed recipient.
var daemonLocals = map[string]bool{
	"mailer-daemon": true, "postmaster": true, "mail-daemon": true, "maildaemon": true,
	"hostmaster": true, "abuse": true, "noreply": true, "no-reply": true, "root": true,
	"double-bounce": true, "bounce": true, "mdaemon": true, "post_master": true, "mailer_daemon": true,
}

// extractFromText finds the failed recipients of a non-standard bounce. The
// X-Failed-Recipients header (Exim and others) names them outright; else
// every address in the bounce's own words that is not the sender's, the
// reporting system's or a message identifier is a candidate, in order.
func (c *collector) extractFromText(rep *Report, text bounceText) []Recipient {
	human := text.s
	var addrs []string
	if v := c.top.get("X-Failed-Recipients"); v != "" {
		for _, a := range findAddresses(v) {
			addrs = appendUnique(addrs, a.addr)
		}
	}
	if len(addrs) == 0 {
		exclude := c.senderAddresses(rep)
		found := findAddresses(human)
		for _, a := range found {
			if !isExcluded(a, text.lower, exclude) {
				addrs = appendUnique(addrs, a.addr)
			}
		}
		if len(addrs) == 0 {
			// Someone wrote to themselves: the sender's address counts when
			// it stands where MTAs list failed recipients, opening a line.
			for _, a := range found {
				if opensLine(human, a.at) {
					addrs = appendUnique(addrs, a.addr)
				}
			}
		}
	}
	if len(addrs) == 0 {
		if a := c.fallbackRecipient(rep, text); a != "" {
			addrs = []string{a}
		}
	}
	recips := make([]Recipient, 0, len(addrs))
	for _, a := range addrs {
		diag := c.contextFor(text, a)
		switch {
		case diag == "":
			// The recipient came from a header or the return path: the
			// text's reply lines still say what happened.
			diag = diagnosticLines(human)
		case len(addrs) == 1 && !hasReply(diag):
			// The text names its one recipient apart from the server's
			// reply (Apache James lists it under "Message details", below
			// the error): the reply lines are that recipient's.
			if lines := diagnosticLines(human); hasReply(lines) && !strings.Contains(diag, lines) {
				diag = lines + "\n" + diag
			}
		}
		recips = append(recips, Recipient{Address: a, Action: ActionFailed, Diagnostic: diag})
	}
	if len(recips) == 0 {
		// No address anywhere: still report the failure the text describes.
		recips = append(recips, Recipient{Action: ActionFailed, Diagnostic: diagnosticLines(human)})
	}
	return recips
}

// senderAddresses are the addresses a bounce names that are not failed
// recipients: the bounce's own From, the address it was sent to (our return
// path) and the original's own addresses (ownAddresses).
func (c *collector) senderAddresses(rep *Report) map[string]bool {
	ex := ownAddresses(rep)
	for _, v := range []string{rep.From, c.top.get("To"), c.top.get("Return-Path"), c.top.get("Sender")} {
		for _, a := range findAddresses(v) {
			ex[strings.ToLower(a.addr)] = true
		}
	}
	return ex
}

// ownAddresses are the addresses, lower-cased, that the returned original
// names as its own: From, Sender, Reply-To and the list's addresses. They
// are the sending side's (DESIGN.md, Authenticity: never one of our own),
// so never a failed recipient, whatever a bounce says of them.
func ownAddresses(rep *Report) map[string]bool {
	own := make(map[string]bool)
	for _, v := range []string{rep.Original.From, rep.Original.Sender, rep.Original.ReplyTo} {
		for _, a := range findAddresses(v) {
			own[strings.ToLower(a.addr)] = true
		}
	}
	for _, a := range rep.Original.ListAddresses {
		own[strings.ToLower(a)] = true
	}
	return own
}

// isExcluded reports whether an address found in the text is not a
// candidate recipient: a sender or system address, or a message identifier.
func isExcluded(a addrAt, lower string, exclude map[string]bool) bool {
	la := strings.ToLower(a.addr)
	if exclude[la] {
		return true
	}
	local := la[:strings.LastIndexByte(la, '@')]
	if daemonLocals[local] || isListCommandLocal(local) {
		return true
	}
	// The original's summary lines ("From: Shop <shop@example.com>") name
	// its sender, never a failed recipient, whatever display name stands
	// between the field name and the address; so do the "from" and
	// "sender" keys of an ESP's JSON event pasted into a mail.
	line := strings.TrimLeft(lower[strings.LastIndexByte(lower[:a.at], '\n')+1:a.at], " \t>|*")
	if strings.HasPrefix(line, `"`) {
		line = strings.ReplaceAll(line, `"`, "")
	}
	for _, f := range []string{"from:", "sender:", "reply-to:"} {
		if strings.HasPrefix(line, f) {
			return true
		}
	}
	before := lower[max(0, a.at-24):a.at]
	for _, s := range []string{"message-id", "message id", "msgid", "mail from:", "from:<", "from: <", "envelope-from", "sender:", "return-path", "contact", "send mail to", "write to"} {
		if strings.Contains(before, s) {
			return true
		}
	}
	// The bounce names the address as the sender: "not accepting mail
	// from <list@example.com>", "sender <a@b> rejected".
	head := strings.TrimRight(before, " \t<\"'")
	switch head[strings.LastIndexAny(head, " \t\n(")+1:] {
	case "from", "sender", "originator":
		return true
	}
	// Sendmail's "malformed address: <a> may not follow <b>" is about a
	// header of the message sent, and neither address is a recipient.
	end := a.at + strings.IndexAny(lower[a.at:]+" ", " \t\n")
	after := strings.TrimLeft(lower[end:min(len(lower), end+20)], " \t")
	if strings.HasPrefix(after, "may not follow") || strings.HasSuffix(head, "may not follow") {
		return true
	}
	return false
}

// isListCommandLocal reports whether a local part names a mailing list's
// command or owner address ("list-request", "list-ctl", "owner-list"),
// which a list manager's notice names for instructions: it is never the
// failed recipient.
func isListCommandLocal(local string) bool {
	return strings.HasSuffix(local, "-request") || strings.HasSuffix(local, "-ctl") ||
		strings.HasSuffix(local, "-owner") || strings.HasPrefix(local, "owner-")
}

// opensLine reports whether only white space or a "<" stands between the
// start of the line and offset at.
func opensLine(s string, at int) bool {
	for i := at - 1; i >= 0 && s[i] != '\n'; i-- {
		if s[i] != ' ' && s[i] != '\t' && s[i] != '<' && s[i] != '"' {
			return false
		}
	}
	return true
}

func appendUnique(list []string, a string) []string {
	for _, x := range list {
		if strings.EqualFold(x, a) {
			return list
		}
	}
	return append(list, a)
}

// contextFor is the package function contextFor, remembered per address:
// a non-standard bounce asks for each recipient's words twice (to extract
// the recipient, then to finish it), and the text is the same throughout
// one report.
func (c *collector) contextFor(text bounceText, addr string) string {
	for _, m := range c.contexts {
		if m.addr == addr {
			return m.context
		}
	}
	ctx := contextFor(text, addr)
	c.contexts = append(c.contexts, addrContext{addr: addr, context: ctx})
	return ctx
}

// addrContext is a remembered result of contextFor.
type addrContext struct {
	addr, context string
}

// contextFor returns the server's words about one recipient: the paragraph
// that names the address, and the paragraphs after it until the words carry
// an SMTP reply and a paragraph without one follows (Gmail and Domino put an
// explanation between the address and the reply). It stops at a paragraph
// that names another recipient, after four paragraphs, or at 1,500 bytes.
func contextFor(text bounceText, addr string) string {
	human := text.s
	if addr == "" || human == "" {
		return ""
	}
	laddr := asciiLower(addr)
	i := mentionOf(text, laddr)
	if i < 0 {
		return ""
	}
	ctx := contextAt(human, i, addr)
	if hasReply(ctx) {
		return ctx
	}
	// The first mention may be a greeting or a display line (Exchange:
	// "Name<mailto:addr>" above its prose, the reply under "Diagnostic
	// information for administrators"): a later mention with the
	// server's reply says more.
	for j, n := i+len(addr), 0; n < 3; n++ {
		k := strings.Index(text.lower[j:], laddr)
		if k < 0 {
			break
		}
		j += k
		if later := contextAt(human, j, addr); hasReply(later) {
			return later
		}
		j += len(addr)
	}
	return ctx
}

// contextAt is contextFor for the mention of addr at offset i.
func contextAt(human string, i int, addr string) string {
	if block := listedRecipientLines(human, i, addr); block != "" {
		return block
	}
	start := strings.LastIndexByte(human[:i], '\n') + 1
	rest := human[start:min(len(human), start+1500)]
	rest = rest[:siblingLine(rest, addr)]
	var b strings.Builder
	have := false
	for n := 0; rest != "" && n < 4; n++ {
		para, next, _ := strings.Cut(rest, "\n\n")
		if n > 0 {
			reply := hasReply(para)
			if have && !reply || namesOtherAddress(para, addr) || listsPossibleCauses(para) {
				break
			}
			b.WriteString("\n")
		}
		b.WriteString(para)
		have = have || hasReply(para)
		rest = strings.TrimLeft(next, "\n")
	}
	if !have && isBareAddressLine(human[start:], addr) {
		// A list of failure reasons above a bare address (Lotus Notes:
		// "User not listed in public Name & Address Book" then the address).
		if prev := previousLine(human, start); prev != "" {
			return prev + "\n" + strings.TrimSpace(b.String())
		}
	}
	return strings.TrimSpace(b.String())
}

// siblingLine returns the offset in block of the first line, in the
// paragraph the block opens with, that opens another recipient's entry: a
// line indented no deeper than the first that begins with another address.
// Exim lists its failed addresses that way in one paragraph ("  a@x" with
// its error indented below, then "  b@x" and its own), and a recipient's
// words end where the next one's begin: each is classified from its own
// words only. It returns len(block) when there is no such line.
func siblingLine(block, addr string) int {
	first, _, _ := strings.Cut(block, "\n")
	indent := len(first) - len(strings.TrimLeft(first, " \t"))
	pos := len(first) + 1
	for pos < len(block) {
		line, _, _ := strings.Cut(block[pos:], "\n")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			break // the paragraph ends; contextAt judges the next ones
		}
		if len(line)-len(trimmed) <= indent {
			if found := findAddresses(trimmed); len(found) > 0 && found[0].at <= 1 && !strings.EqualFold(found[0].addr, addr) {
				return pos
			}
		}
		pos += len(line) + 1
	}
	return len(block)
}

// possibleCausesMarkers open the help text some servers append to every
// bounce, whatever its cause: a list of what might have gone wrong
// (SmarterMail: "Possible reasons include: the address was misspelled, the
// account has been closed, the mailbox is full"). It names every cause, so
// it says nothing about this one. Lower case.
var possibleCausesMarkers = []string{
	"possible reason", "possible cause", "common reasons", "this may be due to one of",
	"mögliche ursache", "mögliche gründe", "raisons possibles", "causes possibles",
	"posibles causas", "possíveis causas", "possibili cause",
}

// listsPossibleCauses reports whether a paragraph opens such a list.
func listsPossibleCauses(para string) bool {
	line, _, _ := strings.Cut(para, "\n")
	line = strings.ToLower(line)
	for _, m := range possibleCausesMarkers {
		if strings.Contains(line, m) {
			return true
		}
	}
	return false
}

// listedRecipientLines returns a recipient's words in a paragraph that
// lists several recipients, one line each (listedRecipient). Sendmail
// closes each recipient's part with its own line, "554 <addr>... reason",
// after the lines about its host ("While talking to …", "550 example.org
// (smtp)... Host unknown"): the recipient's words are its own line, then
// the lines since the previous recipient's line or the last "While talking
// to". A line after it that is not another recipient's belongs to the next
// host's part ("421 example.org (smtp)... Deferred"), so a lone recipient
// whose line closes a "While talking to" part is read the same way. It
// returns "" when the paragraph around offset i is not such a list.
func listedRecipientLines(human string, i int, addr string) string {
	pstart := strings.LastIndex(human[:i], "\n\n") + 1
	pend := strings.Index(human[i:], "\n\n")
	if pend < 0 {
		pend = len(human)
	} else {
		pend += i
	}
	var block []string
	var out string
	others, transcript := false, false
	for line := range strings.Lines(human[pstart:pend]) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "While talking to ") {
			block = block[:0] // the next host's part
		}
		switch a := listedRecipient(line); {
		case a == "":
			block = append(block, line)
		case strings.EqualFold(a, addr):
			if out == "" {
				// Its own line first: its reply code is the recipient's.
				out = strings.Join(append([]string{line}, block...), "\n")
				transcript = len(block) > 0 && strings.HasPrefix(block[0], "While talking to ")
			}
			block = block[:0]
		default:
			others = true
			block = block[:0]
		}
	}
	if !others && !transcript {
		// One recipient, and no transcript before its line: the
		// paragraph is its words (contextAt).
		return ""
	}
	return out
}

// listedRecipient returns the address of a recipient's own line in a
// list: Sendmail's "554 <addr>... reason" or "<addr>... reason", or a line
// that opens with the address and carries the server's reply (Zoho's
// "addr Invalid Address, ERROR_CODE :550, ...", OpenSMTPD's "addr: 550
// ..."); else "".
func listedRecipient(line string) string {
	if replyCodeAt(line, 0) != 0 && len(line) > 4 && line[3] == ' ' {
		line = line[4:]
	}
	if !strings.HasPrefix(line, "<") {
		if a, _, ok := strings.Cut(line, " "); ok && hasReply(line) {
			if a = strings.TrimSuffix(a, ":"); !isValidAddress(a) {
				return ""
			}
			return a
		}
		return ""
	}
	end := strings.Index(line, ">...")
	if end < 0 {
		return ""
	}
	a := line[1:end]
	if strings.IndexByte(a, '@') < 0 || strings.ContainsAny(a, " <>") {
		return ""
	}
	return a
}

// isBareAddressLine reports whether the line at the start of s holds only
// the address, perhaps in angle brackets and with a trailing colon.
func isBareAddressLine(s, addr string) bool {
	line, _, _ := strings.Cut(s, "\n")
	line = strings.Trim(strings.TrimSpace(line), "<>:")
	return strings.EqualFold(line, addr)
}

// previousLine returns the last non-blank line before offset start, unless
// it is a separator or announces a list ("… the following addresses:").
func previousLine(s string, start int) string {
	before := strings.TrimRight(s[:start], "\n \t")
	line := strings.TrimSpace(before[strings.LastIndexByte(before, '\n')+1:])
	if line == "" || strings.HasSuffix(line, ":") || strings.Trim(line, "-=*_# ") == "" {
		return ""
	}
	return line
}

// mentionOf returns the offset of the mention of addr that opens its
// recipient's block: the first one, unless it stands in a summary line of
// the original ("To: …", "Cc: …") and a later one does not. laddr is the
// address lower-cased.
func mentionOf(text bounceText, laddr string) int {
	lower := text.lower
	first := strings.Index(lower, laddr)
	for i := first; i >= 0; {
		lineStart := strings.LastIndexByte(lower[:i], '\n') + 1
		line := strings.TrimLeft(lower[lineStart:i], " \t")
		if !strings.HasPrefix(line, "to:") && !strings.HasPrefix(line, "cc:") && !strings.HasPrefix(line, "bcc:") {
			return i
		}
		next := strings.Index(lower[i+len(laddr):], laddr)
		if next < 0 {
			break
		}
		i += len(laddr) + next
	}
	return first
}

// namesOtherAddress reports whether a paragraph names an address other than
// addr, and not addr itself: the block of another recipient.
func namesOtherAddress(para, addr string) bool {
	found := findAddresses(para)
	for _, a := range found {
		if strings.EqualFold(a.addr, addr) {
			return false
		}
	}
	return len(found) > 0
}

// diagnosticLines returns the lines of the text that carry an SMTP reply, or
// the start of the text when none does: up to 1,500 bytes, as contextFor,
// since a bounce written in a non-Latin script takes two or three bytes a
// letter and states its cause (or links its help page) after the greeting.
func diagnosticLines(human string) string {
	var out []string
	for line := range strings.Lines(human) {
		if hasReply(line) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	if len(out) > 0 {
		return strings.Join(out, " ")
	}
	return human[:min(len(human), 1500)]
}

// containsLowerFold reports whether s contains lower, a lower-case ASCII
// string, ignoring the ASCII case of s. Unlike indexFoldASCII it copies
// nothing.
func containsLowerFold(s, lower string) bool {
	if lower == "" {
		return true
	}
	first := lower[0]
	for i := 0; i+len(lower) <= len(s); i++ {
		if c := s[i]; c == first || c+'a'-'A' == first && c >= 'A' && c <= 'Z' {
			if asciiEqualFold(s[i:i+len(lower)], lower) {
				return true
			}
		}
	}
	return false
}

// indexFoldASCII finds substr in s ignoring ASCII case.
func indexFoldASCII(s, substr string) int {
	if i := strings.Index(s, substr); i >= 0 {
		return i
	}
	return strings.Index(asciiLower(s), asciiLower(substr))
}

// bounceSenders are parts of From headers that mark a mail system's report.
var bounceSenders = []string{"mailer-daemon", "postmaster", "mail delivery", "maildelivery", "mail-daemon", "mdaemon", "mail administrator", "mailadmin", "mail system", "delivery-notification", "returned mail", "bounce"}

// bounceSubjects are parts of the subjects of bounce reports, lower case,
// in the languages real servers answer in.
var bounceSubjects = []string{
	"undeliver", "undelivered", "delivery status", "delivery failure", "delivery failed",
	"delivery notification", "failure notice", "returned mail", "mail delivery failed",
	"not delivered", "could not be delivered", "delivery problem", "non-delivery", "nondeliver",
	"mail failure", "rejected", "delivery report", "permanent error", "returned to sender",
	"unzustellbar", "nicht zustellbar", "non remis", "non distribuito", "no entregado",
	"no se pudo entregar", "não entregue", "недоставлен", "не доставлен", "未配達", "配信エラー",
	"returned message", "mail system error", "warning: could not send", "delivery has failed",
	"are not member", // a list manager refusing a post (fml: "You x are not member (list ML)")
}

// isMailSystem reports whether a From names a mail system's report sender
// (bounceSenders, the first n of them), however its words are parted:
// "MAILER-DAEMON", "post_master" (Verizon's vtext gateway), "Mailer.Daemon".
func isMailSystem(from string, n int) bool {
	from = strings.ToLower(from)
	for _, s := range bounceSenders[:n] {
		if strings.Contains(from, s) {
			return true
		}
	}
	squeezed := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r == ' ' {
			return -1
		}
		return r
	}, from)
	for _, s := range bounceSenders[:n] {
		if strings.Contains(squeezed, strings.ReplaceAll(s, "-", "")) && !strings.Contains(s, " ") {
			return true
		}
	}
	return false
}

// isBounce reports whether a message without a delivery-status part is a
// bounce all the same, from its headers and its words.
func (c *collector) isBounce(rep *Report, human string) bool {
	if c.top.has("X-Failed-Recipients") || c.reportType == "delivery-status" {
		return true
	}
	if isMailSystem(rep.From, len(bounceSenders)) {
		return true
	}
	subj := strings.ToLower(rep.Subject)
	for _, s := range bounceSubjects {
		if strings.Contains(subj, s) {
			return true
		}
	}
	rp := strings.TrimSpace(c.top.get("Return-Path"))
	return (rp == "<>" || rp == "") && hasReply(human) && c.top.has("Return-Path")
}

// autoReplySubjects are subject prefixes and phrases of vacation notices
// and other automatic replies, lower case.
var autoReplySubjects = []string{
	"out of office", "out of the office", "auto:", "automatic reply", "autoreply", "auto-reply",
	"auto reply", "automatische antwort", "abwesenheit", "réponse automatique", "absence",
	"respuesta automática", "resposta automática", "risposta automatica", "vacation", "away from",
	"自動応答", "自動返信", "автоответ", "on leave", "away until",
}

// isAutoReply reports whether the message is an automatic reply (RFC 3834)
// rather than a bounce. A mail system's report with an SMTP reply is never
// one, whatever its Auto-Submitted field says (Exim marks its bounces
// auto-replied).
func (c *collector) isAutoReply(rep *Report, human string) bool {
	if isMailSystem(rep.From, 5) {
		return false
	}
	if c.top.has("X-Failed-Recipients") {
		return false
	}
	as := strings.ToLower(c.top.get("Auto-Submitted"))
	if strings.HasPrefix(as, "auto-replied") {
		// Exchange marks its plain-text NDRs auto-replied too: a bounce
		// subject over a server's reply is a report, not a vacation notice.
		subj := strings.ToLower(rep.Subject)
		return !(containsAny(subj, bounceSubjects) && !containsAny(subj, autoReplySubjects) && hasReply(human))
	}
	if c.top.has("X-Autoreply") || c.top.has("X-Autorespond") || c.top.has("X-Vacation") ||
		strings.EqualFold(c.top.get("Precedence"), "auto_reply") || c.top.has("X-Autoresponder") {
		return true
	}
	subj := strings.ToLower(rep.Subject)
	for _, s := range autoReplySubjects {
		if strings.Contains(subj, s) {
			return !hasReply(human)
		}
	}
	return false
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
