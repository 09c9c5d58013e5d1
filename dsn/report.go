package dsn

import (
	"bufio"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// report turns what the walk collected into a Report. Structured signals
// come first: a delivery-status part, a feedback report; then the headers
// that mark automatic replies; only then the human-readable text.
func (c *collector) report() *Report {
	rep := &Report{
		Subject:           c.top.get("Subject"),
		From:              c.top.get("From"),
		DeliveredTo:       c.deliveredTo(),
		RecipientsDropped: c.recipientsDropped,
	}
	text, inlineOriginal := splitOriginal(string(c.text))
	human := text.s
	c.fillOriginal(rep, inlineOriginal)

	switch {
	case c.feedback != "" || c.reportType == "feedback-report":
		c.readFeedback(rep, text)
	case c.readDeliveryStatus(rep, text):
	case readSESNotification(rep, human):
	case strings.EqualFold(strings.TrimSpace(c.top.get("X-Apple-Unsubscribe")), "true"):
		// Apple Mail's unsubscribe request: the recipient's own "take me
		// off the list", feedback as much as an abuse report is.
		rep.Kind = KindARF
		rep.FeedbackType = "unsubscribe"
		if addr := firstAddress(rep.From); addr != "" {
			rep.Recipients = []Recipient{{Address: addr}}
		}
	case c.isAutoReply(rep, human):
		rep.Kind = KindAutoReply
		if addr := firstAddress(rep.From); addr != "" {
			rep.Recipients = []Recipient{{Address: addr}}
		}
	case c.isBounce(rep, human):
		rep.Kind = KindNonStandard
		rep.Recipients = c.extractFromText(rep, text)
	default:
		rep.Kind = KindUnrecognized
	}
	for i := range rep.Recipients {
		c.finish(rep, &rep.Recipients[i], text)
	}
	if rep.Kind == KindNonStandard && !hasStrongRecipient(rep) && inlineOriginal != "" && c.nesting < maxNesting {
		// The text names no failure of its own: the bounce may have been
		// forwarded inline, its own report below the separator.
		if inner, err := parse(strings.NewReader(inlineOriginal), c.opts, c.nesting+1); err == nil && hasStrongRecipient(inner) {
			return inner
		}
	}
	cleanReport(rep)
	return rep
}

// cleanReport makes every string of rep valid UTF-8 without NUL bytes, as
// the parse contract promises: a bounce in an unknown charset, or with raw
// 8-bit bytes, must not make its JSON lossy or its database row invalid.
func cleanReport(rep *Report) {
	for _, s := range []*string{&rep.ReportingMTA, &rep.OriginalEnvelopeID, &rep.FeedbackType, &rep.Subject, &rep.From,
		&rep.Original.MessageID, &rep.Original.From, &rep.Original.Sender, &rep.Original.ReplyTo,
		&rep.Original.To, &rep.Original.Subject, &rep.Original.ReturnPath} {
		*s = CleanText(*s)
	}
	for i, a := range rep.Original.ListAddresses {
		rep.Original.ListAddresses[i] = CleanText(a)
	}
	for i, a := range rep.DeliveredTo {
		rep.DeliveredTo[i] = CleanText(a)
	}
	for k, v := range rep.Original.Headers {
		rep.Original.Headers[k] = CleanText(v)
	}
	for i := range rep.Recipients {
		r := &rep.Recipients[i]
		for _, s := range []*string{&r.Address, &r.OriginalRecipient, &r.Diagnostic, &r.RemoteMTA} {
			*s = CleanText(*s)
		}
		for k, v := range r.Extra {
			r.Extra[k] = CleanText(v)
		}
	}
}

// CleanText replaces invalid UTF-8 with U+FFFD and drops NUL bytes: what
// PostgreSQL text columns and JSON need. Report strings are already clean.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// hasStrongRecipient reports whether a report names a recipient together
// with the server's reply about it.
func hasStrongRecipient(rep *Report) bool {
	for _, r := range rep.Recipients {
		if r.Address != "" && (r.SMTPCode != 0 || r.Status != "" && !r.StatusInferred) {
			return true
		}
	}
	return false
}

// isBounceHeader reports whether a header block is that of a bounce: a
// delivery report's content type, or a mail system's From.
func isBounceHeader(h headerView) bool {
	ct := strings.ToLower(h.get("Content-Type"))
	if strings.Contains(ct, "report-type=delivery-status") || strings.Contains(ct, "report-type=\"delivery-status\"") {
		return true
	}
	return isMailSystem(h.get("From"), 5)
}

// readDeliveryStatus reads the RFC 3464 delivery-status parts. Servers that
// write the fields into the text part instead are read there. It reports
// whether any recipient was found.
func (c *collector) readDeliveryStatus(rep *Report, text bounceText) bool {
	blocks := c.statusBlocks
	if len(blocks) == 0 {
		if i := strings.Index(text.lower, "\nfinal-recipient:"); i >= 0 {
			// The fields stand in the text; start at the block they open.
			start := strings.LastIndex(text.s[:i], "\n\n")
			blocks = []string{text.s[max(start, 0):]}
		}
	}
	for _, b := range blocks {
		pm, recips := decodeDeliveryStatus(b)
		if rep.ReportingMTA == "" {
			rep.ReportingMTA = pm.reportingMTA
		}
		if rep.ArrivalDate.IsZero() {
			rep.ArrivalDate = pm.arrivalDate
		}
		if rep.OriginalEnvelopeID == "" {
			rep.OriginalEnvelopeID = pm.originalEnvelopeID
		}
		for _, r := range recips {
			if r.Address == "" {
				r.Address = r.OriginalRecipient
			}
			if r.Address == "" && len(recips) == 1 {
				r.Address = c.fallbackRecipient(rep, text)
			}
			rep.Recipients = append(rep.Recipients, r)
		}
	}
	if len(rep.Recipients) == 0 {
		return false
	}
	rep.Kind = KindDSN
	return true
}

// readFeedback reads an RFC 5965 abuse report: the complaining recipient is
// the Original-Rcpt-To field, else the To of the returned original.
func (c *collector) readFeedback(rep *Report, text bounceText) {
	rep.Kind = KindARF
	var rcpts []string
	for _, g := range splitFieldGroups(c.feedback) {
		for _, f := range g {
			switch f.name {
			case "feedback-type":
				rep.FeedbackType = strings.ToLower(f.value)
			case "original-rcpt-to", "removal-recipient":
				rcpts = appendUnique(rcpts, normalizeAddress(typedValue(f.value)))
			case "reporting-mta":
				rep.ReportingMTA = typedValue(f.value)
			}
		}
	}
	if len(rcpts) == 0 {
		if a := firstAddress(rep.Original.To); a != "" {
			rcpts = []string{a}
		} else if a := c.fallbackRecipient(rep, text); a != "" {
			rcpts = []string{a}
		}
	}
	if rep.FeedbackType == "" {
		rep.FeedbackType = "abuse"
	}
	for _, a := range rcpts {
		rep.Recipients = append(rep.Recipients, Recipient{Address: a})
	}
}

// fillOriginal records what is known of the returned original: from a
// message/rfc822 or text/rfc822-headers part, else from a header block
// quoted inline after the bounce text.
func (c *collector) fillOriginal(rep *Report, inline string) {
	h := c.original
	if h == nil && inline != "" {
		if parsed, ok := parseInlineHeader(inline, c.keep); ok {
			h = &parsed
		}
	}
	if h == nil {
		return
	}
	rep.Original = Original{
		MessageID:  h.get("Message-Id"),
		From:       h.get("From"),
		Sender:     h.get("Sender"),
		ReplyTo:    h.get("Reply-To"),
		To:         h.get("To"),
		Subject:    h.get("Subject"),
		ReturnPath: firstAddress(h.get("Return-Path")),
	}
	for _, name := range listFields {
		for _, a := range findAddresses(h.get(name)) {
			rep.Original.ListAddresses = appendUnique(rep.Original.ListAddresses, a.addr)
		}
	}
	for _, name := range c.opts.CorrelationHeaders {
		if v := h.get(name); v != "" {
			if rep.Original.Headers == nil {
				rep.Original.Headers = make(map[string]string)
			}
			rep.Original.Headers[textproto.CanonicalMIMEHeaderKey(name)] = v
		}
	}
}

// listFields are the RFC 2369 fields of a list message that carry the
// list's own mail addresses (as mailto: URLs).
var listFields = []string{"List-Post", "List-Owner", "List-Help", "List-Subscribe", "List-Unsubscribe"}

// parseInlineHeader reads the header block of an original quoted in the
// text, starting at its first header line.
func parseInlineHeader(s string, keep map[string]bool) (headerView, bool) {
	for s != "" {
		line, rest, _ := strings.Cut(s, "\n")
		if isHeaderLine(line) {
			break
		}
		s = rest
	}
	if s == "" {
		return headerView{}, false
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(strings.NewReader(s))
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	h, err := scanHeader(br, maxOriginalBytes, keep)
	if err != nil {
		return headerView{}, false
	}
	return newHeaderView(h), true
}

// deliveredToFields are the header fields that name the address a bounce
// was delivered to, in the order they are looked at.
var deliveredToFields = []string{"To", "Delivered-To", "X-Original-To", "Envelope-To"}

// deliveredTo returns the addresses the bounce names as delivered to, up to
// MaxDeliveredTo.
func (c *collector) deliveredTo() []string {
	var out []string
	for _, f := range deliveredToFields {
		for _, a := range findAddresses(c.top.get(f)) {
			if len(out) == MaxDeliveredTo {
				return out
			}
			out = appendUnique(out, a.addr)
		}
	}
	return out
}

// fallbackRecipient finds the failed recipient when the bounce's report
// names none: the X-Failed-Recipients header, the one address the bounce's
// own words name (textRecipient), the single To of the returned original,
// then a VERP return path the bounce was sent to. The original's To comes
// after the bounce's words: it is what was sent, not what failed, and may
// stand in only when the bounce names nobody.
func (c *collector) fallbackRecipient(rep *Report, text bounceText) string {
	if a := firstAddress(c.top.get("X-Failed-Recipients")); a != "" {
		return a
	}
	if a := c.textRecipient(rep, text); a != "" {
		return a
	}
	if addrs := findAddresses(rep.Original.To); len(addrs) == 1 {
		return addrs[0].addr
	}
	for _, h := range []string{"To", "Delivered-To", "X-Original-To"} {
		if a := decodeVERP(firstAddress(c.top.get(h))); a != "" {
			return a
		}
	}
	return ""
}

// textRecipient returns the one valid address the bounce's own words name
// that is not the sender's, a mail system's or another recipient's of the
// report; "" when they name none or several.
func (c *collector) textRecipient(rep *Report, text bounceText) string {
	exclude := c.senderAddresses(rep)
	for _, r := range rep.Recipients {
		exclude[strings.ToLower(r.Address)] = true
	}
	found := ""
	for _, a := range findAddresses(text.s) {
		if !isValidAddress(a.addr) || isExcluded(a, text.lower, exclude) || strings.EqualFold(a.addr, found) {
			continue
		}
		if found != "" {
			return ""
		}
		found = a.addr
	}
	return found
}

// decodeVERP decodes a VERP return path, "bounces+user=example.org@lists.example.com",
// into the recipient it encodes, "user@example.org"; other addresses give "".
func decodeVERP(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return ""
	}
	local := a[:at]
	plus := strings.IndexAny(local, "+-")
	eq := strings.LastIndexByte(local, '=')
	if plus < 0 || eq < plus+2 || eq == len(local)-1 {
		return ""
	}
	user, domain := local[plus+1:eq], local[eq+1:]
	if !strings.Contains(domain, ".") || strings.ContainsAny(user, "=@") {
		return ""
	}
	return normalizeAddress(user + "@" + domain)
}

// firstAddress returns the first address in a header value, or "".
func firstAddress(v string) string {
	if addrs := findAddresses(v); len(addrs) > 0 {
		return addrs[0].addr
	}
	return ""
}

// finish completes one recipient: the reply code and a better status from
// the diagnostic or the text, the classification, and an inferred status
// where the message carried none.
func (c *collector) finish(rep *Report, r *Recipient, text bounceText) {
	r.Address = normalizeAddress(r.Address)
	if r.Address != "" && !isValidAddress(r.Address) {
		// A delivery to a file, a pipe or a source route: the address the
		// sender used is the Original-Recipient, or the one the text names
		// beside it ("generated by user@example.org").
		switch {
		case isValidAddress(r.OriginalRecipient):
			r.Address = r.OriginalRecipient
		default:
			for _, a := range findAddresses(c.contextFor(text, r.Address)) {
				if isValidAddress(a.addr) {
					r.Address = a.addr
					break
				}
			}
		}
		if !isValidAddress(r.Address) {
			// A broken field ("rfc822; @mx.example.org"): the bounce's
			// words may still name the recipient.
			if a := c.textRecipient(rep, text); a != "" {
				r.Address = a
			}
		}
	}
	if r.Action == "" {
		switch rep.Kind {
		case KindDSN, KindNonStandard:
			r.Action = ActionFailed
		}
	}
	if rep.Kind == KindDSN || rep.Kind == KindNonStandard {
		switch ctx := c.contextFor(text, r.Address); {
		case ctx == "" || strings.Contains(r.Diagnostic, ctx):
		case r.Diagnostic == "":
			// No Diagnostic-Code: the text's words about the recipient
			// ("wasn't delivered … because the address couldn't be found").
			r.Diagnostic = ctx
		case !hasReply(r.Diagnostic) && hasReply(ctx):
			r.Diagnostic += "\n" + ctx
		case stageOf(r.Diagnostic) == "" && stageOf(ctx) != "":
			// Postfix's text says which command the reply answered, its
			// Diagnostic-Code does not, and the stage changes what the reply
			// means (see adjust).
			r.Diagnostic += " " + stageOf(ctx)
		}
		code, status := findReply(r.Diagnostic)
		if code == 0 && status == "" && rep.Kind == KindNonStandard {
			code, status = findReply(text.s)
		}
		if r.SMTPCode == 0 {
			r.SMTPCode = code
		}
		if status != "" && preferDiagnosticStatus(r.Status, status, code) {
			r.Status = status
		}
	}
	r.Diagnostic = collapseSpace(r.Diagnostic)
	r.Classification = Classify(Evidence{
		Kind:         rep.Kind,
		Action:       r.Action,
		Status:       r.Status,
		SMTPCode:     r.SMTPCode,
		Diagnostic:   r.Diagnostic,
		FeedbackType: rep.FeedbackType,
	})
	if r.Scope == ScopeRecipient && c.namesOnlyUs(rep, r.Diagnostic, r.Address) {
		// "550-Callout verification failed for <bounces@example.com>":
		// the reply names our return path (or the original's sender) and
		// not the recipient, so it is about us, whatever status the
		// reporting MTA wrote over it (Sendmail writes 5.1.1).
		r.Classification = ClassificationOf(ReasonBadSenderAddress)
	}
	if r.Status == "" {
		st := InferStatus(r.Classification, r.SMTPCode)
		if st == "" && r.Address != "" && r.Action == ActionFailed {
			// A failure that names neither cause nor code: the parse
			// contract still wants a real code, and x.0.0 says no more
			// than the bounce did.
			st = "5.0.0"
		}
		if st != "" {
			r.Status, r.StatusInferred = st, true
		}
	}
	switch {
	case r.Address == "":
		// The parse contract: without a recipient the reason is unknown,
		// whatever the words say; there is nobody to suppress or count.
		r.Classification = ClassificationOf(ReasonUnknown)
	case r.Verdict == VerdictSuppress || r.Verdict == VerdictSoft:
		// Address hygiene (DESIGN.md, Authenticity): only a valid mailbox
		// the bounce names as failed is suppressed or counted. A fragment,
		// a file or a pipe is no mailbox, and the original's own addresses
		// (From, Sender, Reply-To, the list's) are the sending side's.
		if !isValidAddress(r.Address) || c.ownAddress(rep, r.Address) {
			r.Verdict = VerdictIgnore
		}
	}
}

// namesOnlyUs reports whether a diagnostic names one of the sending side's
// addresses (senderAddresses) and not the recipient's.
func (c *collector) namesOnlyUs(rep *Report, diag, addr string) bool {
	if strings.IndexByte(diag, '@') < 0 {
		return false
	}
	found := findAddresses(diag)
	ours := false
	for _, a := range found {
		if strings.EqualFold(a.addr, addr) {
			return false
		}
		ours = ours || c.senderAddress(rep, a.addr)
	}
	return ours
}

// senderAddress reports whether addr is one of senderAddresses, made once
// per report.
func (c *collector) senderAddress(rep *Report, addr string) bool {
	if c.senders == nil {
		c.senders = c.senderAddresses(rep)
	}
	return c.senders[strings.ToLower(addr)]
}

// ownAddress reports whether addr is one of the returned original's own
// addresses (ownAddresses), made once per report.
func (c *collector) ownAddress(rep *Report, addr string) bool {
	if c.own == nil {
		c.own = ownAddresses(rep)
	}
	return c.own[strings.ToLower(addr)]
}

// preferDiagnosticStatus decides whether the status the server's own words
// carry replaces the Status field: always when the field is missing; when
// the field says nothing beyond its class (x.0.0, as Exim writes, even
// over a temporary reply it gave up on); and when
// the remote server answered with a reply code and a status of the same
// class, which is its own verdict where the reporting MTA's field is a
// translation (Sendmail writes 5.1.1 over a remote "550 5.7.1 blacklisted").
func preferDiagnosticStatus(field, diag string, code int) bool {
	switch {
	case field == "":
		return true
	case field == diag || isClassOnly(diag):
		return false
	case isClassOnly(field):
		return true // Exim's 5.0.0 over a "451 4.3.0 … retry timeout exceeded"
	}
	return code != 0 && field[0] == diag[0]
}

// hasReply reports whether s carries an SMTP reply code or enhanced status:
// whether findReply finds either. Any status at all makes findReply return
// one, so that is looked for first, without weighing which one wins.
func hasReply(s string) bool {
	if _, at := findStatus(s); at >= 0 {
		return true
	}
	return quotedReplyCode(s) != 0 || leadingReplyCode(s) != 0
}

// collapseSpace joins the lines of a diagnostic and squeezes runs of white
// space, so that it reads as one line.
func collapseSpace(s string) string {
	if isCollapsed(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for f := range strings.FieldsSeq(s) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
}

// isCollapsed reports whether s is ASCII and already one line of words
// parted by single spaces, which collapseSpace returns as it is.
func isCollapsed(s string) bool {
	space := true // no leading space
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ':
			if space {
				return false
			}
			space = true
		default:
			space = false
		}
	}
	return !space || s == ""
}

// stageOf returns Postfix's note of the command a reply answered, "(in
// reply to end of DATA command)", or "" if s has none.
func stageOf(s string) string {
	i := indexFoldASCII(s, "(in reply to ")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], ')')
	if j < 0 {
		return ""
	}
	return s[i : i+j+1]
}
