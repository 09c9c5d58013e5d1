package dsn

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
)

// headerView reads a message header with RFC 2047 encoded words decoded.
type headerView struct {
	h headerFields
}

func newHeaderView(h headerFields) headerView { return headerView{h: h} }

// get returns the decoded value of the first field named k, or "".
func (v headerView) get(k string) string {
	raw, _ := v.h.value(k)
	s, err := wordDecoder.DecodeHeader(raw)
	if err != nil || s == "" {
		return strings.TrimSpace(raw)
	}
	return strings.TrimSpace(s)
}

// has reports whether a field named k is present.
func (v headerView) has(k string) bool {
	_, ok := v.h.value(k)
	return ok
}

// wordDecoder decodes RFC 2047 encoded words with the charsets go-message
// knows, as its Header.Text does.
var wordDecoder = mime.WordDecoder{CharsetReader: decodedCharset}

// decodedCharset converts input from charset to UTF-8 in full. The mime
// package copies what a charset reader gives with io.Copy, which takes a
// 32 KiB buffer for every encoded word unless the reader writes itself out
// as a bytes.Reader does.
func decodedCharset(charset string, input io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("message: unhandled charset %q", charset)
	}
	r, err := message.CharsetReader(charset, input)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isAlnum(b byte) bool {
	return isDigit(b) || (b|0x20) >= 'a' && (b|0x20) <= 'z'
}

// findStatus finds the first RFC 3463 enhanced status code ("5.1.1",
// "4.7.28", "5.7.509") in s and returns it with its byte offset, or "" and -1.
// Codes inside longer dotted numbers (IP addresses, versions) do not count.
func findStatus(s string) (string, int) {
	// A code has its first dot right after its class digit: only the
	// bytes before dots need a closer look.
	for off := 0; ; {
		dot := strings.IndexByte(s[off:], '.')
		if dot < 0 {
			return "", -1
		}
		i := off + dot - 1
		off += dot + 1
		if i < 0 {
			continue
		}
		if i+4 >= len(s) {
			return "", -1
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.') {
			continue
		}
		if n := statusAt(s, i); n > 0 {
			return s[i : i+n], i
		}
	}
}

// statusAt returns the length of the enhanced status code starting at s[i],
// or 0 if none starts there: class 2, 4 or 5, subject and detail of one to
// three digits, not followed by a letter, a digit or another dotted number.
func statusAt(s string, i int) int {
	if i+5 > len(s) || s[i] != '2' && s[i] != '4' && s[i] != '5' || s[i+1] != '.' {
		return 0
	}
	j := i + 2
	n := digitsAt(s, j)
	if n == 0 || n > 3 || j+n >= len(s) || s[j+n] != '.' {
		return 0
	}
	k := j + n + 1
	m := digitsAt(s, k)
	if m == 0 || m > 3 {
		return 0
	}
	end := k + m
	if end < len(s) && (isAlnum(s[end]) || s[end] == '.' && end+1 < len(s) && isDigit(s[end+1])) {
		return 0
	}
	return end - i
}

func digitsAt(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// replyCodeAt returns the SMTP reply code starting at s[i] if one stands
// there: three digits, the first 2, 4 or 5 and the second 0 to 5, not part of
// a longer number, followed by a space, a hyphen, the end, or punctuation.
func replyCodeAt(s string, i int) int {
	if i+3 > len(s) || i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.') {
		return 0
	}
	a, b, c := s[i], s[i+1], s[i+2]
	if a != '2' && a != '4' && a != '5' || b < '0' || b > '5' || !isDigit(c) {
		return 0
	}
	if i+3 < len(s) {
		switch s[i+3] {
		case ' ', '-', '\t', '\r', '\n', ')', ']', ',', ':', '"', '\'':
		default:
			return 0
		}
	}
	return int(a-'0')*100 + int(b-'0')*10 + int(c-'0')
}

// findReply finds the SMTP reply code and the enhanced status code the
// server's words carry. A status written right after a reply code ("550
// 5.1.1", "550-5.1.1", "550-'5.7.1") is the remote server's own answer and
// wins over a bare status a relaying MTA put in front of it, and a failure
// (4.x.x, 5.x.x) over a success earlier in a transcript; else the first
// status, with a reply code at the start of the text or after a colon or a
// "<<<" transcript marker. A bare number elsewhere in prose is not taken for
// a reply code.
func findReply(s string) (code int, status string) {
	firstStatus := ""
	okCode, okStatus := 0, ""
	for off := 0; off < len(s); {
		st, at := findStatus(s[off:])
		if at < 0 {
			break
		}
		at += off
		if firstStatus == "" {
			firstStatus = st
		}
		if c := replyCodeBefore(s, at); c != 0 {
			if st[0] != '2' {
				return c, st
			}
			// A transcript's "250 2.1.5 Ok" is not the failure: look on.
			if okCode == 0 {
				okCode, okStatus = c, st
			}
		}
		off = at + len(st)
	}
	if okCode != 0 {
		return okCode, okStatus
	}
	if code := quotedReplyCode(s); code != 0 {
		return code, firstStatus
	}
	return leadingReplyCode(s), firstStatus
}

// quotedReplyCode finds the remote server's reply that Sendmail quotes after
// the address it concerns: "554 <user@example.org>... 550 Host unknown".
func quotedReplyCode(s string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], "... ")
		if i < 0 {
			return 0
		}
		off += i + 4
		if c := replyCodeAt(s, off); c != 0 {
			return c
		}
	}
}

// replyCodeBefore returns the reply code written just before the status at
// s[at], separated by up to three of space, hyphen, quote, "#", "(" or ":"
// ("550 5.1.1", "550-'5.7.1", "550 #5.1.0", "550: 5.1.1"), or 0.
func replyCodeBefore(s string, at int) int {
	i := at
	for n := 0; n < 3 && i > 0 && strings.IndexByte(" -'\"#(:", s[i-1]) >= 0; n++ {
		i--
	}
	if i == at || i < 3 {
		return 0
	}
	return replyCodeAt(s, i-3)
}

// leadingReplyCode finds a reply code where servers put one: at the start of
// the text or of a line, or after "said:", ":", "<<<", "#" or "(".
func leadingReplyCode(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		if !isDigit(s[i]) {
			continue
		}
		if i > 0 {
			j := i - 1
			for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
				j--
			}
			if j >= 0 {
				switch s[j] {
				case '\n', ':', '<', '#', '(', '[', ';', '>':
				default:
					continue
				}
			}
		}
		if code := replyCodeAt(s, i); code != 0 {
			if _, known := replyTable[code]; !known && (i+3 == len(s) || s[i+3] == '\n' || s[i+3] == '\r') {
				// A number alone at the end of a line is a value
				// ("Size (in bytes): 512"), unless it is a reply code
				// servers send (Postfix folds "said: 554" from its text).
				continue
			}
			return code
		}
	}
	return 0
}

// isAddrByte reports whether b may stand in an email address as servers
// print them (RFC 5321 dot-atom local parts and domain names).
func isAddrByte(b byte) bool {
	if isAlnum(b) {
		return true
	}
	switch b {
	case '.', '-', '_', '+', '=', '!', '#', '$', '%', '&', '*', '/', '?', '^', '`', '{', '|', '}', '~', '\'':
		return true
	}
	return b >= 0x80 // UTF-8 (RFC 6531 addresses)
}

// findAddresses returns the email addresses in s in the order they appear,
// each with the byte offset where it starts. Surrounding punctuation is not
// part of an address; a quoted local part is ("john..doe"@example.org); a
// domain needs a dot.
func findAddresses(s string) []addrAt {
	var out []addrAt
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		start := localPartStart(s, i)
		end := i + 1
		for end < len(s) && (isAlnum(s[end]) || s[end] == '.' || s[end] == '-' || s[end] == '_' || s[end] >= 0x80) {
			end++
		}
		local := s[start:i]
		if local == "" || local[0] != '"' {
			// Leading hyphens are a separator or signature dash run into
			// the address ("--list@example.org, Be Seeing You!").
			local = strings.TrimLeft(strings.Trim(local, ".'`/|"), "-")
		}
		domain := strings.Trim(s[i+1:end], ".-")
		start = i - len(local)
		i = end - 1
		if local == "" || !strings.Contains(domain, ".") || len(local) > 64 || len(domain) > 255 {
			continue
		}
		out = append(out, addrAt{addr: normalizeAddress(local + "@" + domain), at: start})
	}
	return out
}

// localPartStart returns where the local part ending before the @ at s[at]
// starts: at its opening quote when it is quoted, else at the first byte of
// the run of address bytes.
func localPartStart(s string, at int) int {
	if at > 1 && s[at-1] == '"' {
		if q := strings.LastIndexByte(s[:at-1], '"'); q >= 0 && at-1-q <= 64 && !strings.ContainsAny(s[q:at], "\n<>") {
			return q
		}
	}
	start := at
	for start > 0 && isAddrByte(s[start-1]) {
		start--
	}
	return start
}

// addrAt is an address found in text and its offset.
type addrAt struct {
	addr string
	at   int
}

// normalizeAddress strips what servers wrap around an address ("<...>",
// quotes, a trailing dot, an "rfc822;" type, Exchange's X.400 "SMTP="
// prefix) and lower-cases the domain; the local part is kept as sent (RFC
// 5321 section 2.4: only the receiving host may fold it).
func normalizeAddress(a string) string {
	a = strings.TrimSpace(a)
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		if j := strings.IndexByte(a[i:], '>'); j > 0 {
			a = a[i+1 : i+j]
		}
	}
	a = strings.Trim(a, " \t<>'.,;:()[]")
	for _, p := range addressPrefixes {
		if len(a) > len(p) && asciiEqualFold(a[:len(p)], p) {
			a = strings.Trim(a[len(p):], " \t<>'.,;:()[]")
		}
	}
	if strings.Count(a, "\"") == 1 {
		a = strings.Trim(a, "\"") // a stray quote, not a quoted local part
	} else if strings.HasPrefix(a, "\"") && strings.HasSuffix(a, "\"") {
		a = a[1 : len(a)-1] // a whole address in quotes
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return a
	}
	return a[:at] + "@" + strings.ToLower(a[at+1:])
}

// addressPrefixes are what servers write before an address that is not
// part of it, lower case: the RFC 3464 address type when a field is copied
// whole, and the SMTP proxy address of Exchange's X.400 and legacy
// directory forms ("SMTP=user@example.org", "smtp:user@example.org").
var addressPrefixes = []string{"rfc822;", "smtp=", "smtp:"}

// htmlToText turns an HTML body into plain text good enough for finding
// addresses and SMTP replies: tags become line breaks or spaces, the common
// entities are decoded, and scripts and styles are dropped.
func htmlToText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				i = len(s)
				continue
			}
			tag := strings.ToLower(s[i+1 : i+end])
			i += end + 1
			name := strings.TrimLeft(tag, "/")
			if k := strings.IndexAny(name, " \t\r\n/"); k >= 0 {
				name = name[:k]
			}
			switch name {
			case "script", "style":
				if !strings.HasPrefix(tag, "/") {
					if close := strings.Index(asciiLower(s[i:]), "</"+name); close >= 0 {
						i += close
					}
				}
			case "br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "pre", "blockquote":
				b.WriteByte('\n')
			default:
				b.WriteByte(' ')
			}
		case '&':
			semi := strings.IndexByte(s[i:min(len(s), i+10)], ';')
			if semi > 0 {
				if r, ok := htmlEntities[s[i+1:i+semi]]; ok {
					b.WriteString(r)
					i += semi + 1
					continue
				}
			}
			b.WriteByte('&')
			i++
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

var htmlEntities = map[string]string{
	"lt": "<", "gt": ">", "amp": "&", "quot": "\"", "nbsp": " ", "#39": "'", "apos": "'", "#64": "@",
}

// isValidAddress reports whether a is a mailbox that can be suppressed: an
// RFC 5321 Mailbox as servers print it (section 4.1.2), a local part of at
// most 64 bytes (a dot-atom, or a quoted string) and a domain of at least
// two labels of letters, digits and hyphens (UTF-8 allowed, RFC 6531), or
// an address literal. A fragment ("@mx.example.org"), a file path, a pipe,
// a source route or a bare host are not.
func isValidAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 254 || a[0] == '/' || a[0] == '|' {
		return false
	}
	return isLocalPart(a[:at]) && isMailDomain(a[at+1:])
}

// isLocalPart reports an RFC 5321 Local-part: a dot-atom or a quoted string.
func isLocalPart(l string) bool {
	if len(l) > 64 {
		return false
	}
	if len(l) >= 2 && l[0] == '"' && l[len(l)-1] == '"' {
		for i := 1; i < len(l)-1; i++ {
			if c := l[i]; c < ' ' || c == 0x7f {
				return false
			}
		}
		return true
	}
	// Consecutive dots are kept (RFC 5322 section 4.4, obs-local-part):
	// lists hold such addresses, and one that a server refuses for its
	// syntax is suppressed as written.
	if l[0] == '.' || l[len(l)-1] == '.' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isAddrByte(c) {
			return false
		}
	}
	return true
}

// isMailDomain reports an RFC 5321 Domain of at least two labels, or an
// address literal in brackets.
func isMailDomain(d string) bool {
	if strings.HasPrefix(d, "[") {
		return strings.HasSuffix(d, "]") && len(d) > 2
	}
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	labels, allDigits := 0, true
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		allDigits = true
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isAlnum(c) && c != '-' && c != '_' && c < 0x80 {
				return false
			}
			allDigits = allDigits && isDigit(c)
		}
		labels++
	}
	// A top-level label of digits is an IP address written without its
	// brackets, not a domain.
	return labels >= 2 && !allDigits
}

// asciiLower lower-cases the ASCII letters of s and leaves every other byte
// as it is, so that offsets into the result are offsets into s (which
// strings.ToLower does not promise for invalid or non-ASCII UTF-8).
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	// Lower-case in a pooled buffer: the result string is the only copy.
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], s...)
	*bp = b
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
