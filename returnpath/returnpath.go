// Package returnpath signs and verifies return paths, so that a bounce can
// prove that it answers mail we sent.
//
// A signed return path is the mailbox's return-path address with a tag in
// its local part: bounces@example.com becomes
//
//	bounces+004fcc1b7f06e2a9d4c853c0b1@example.com
//
// The tag is the day the message was sent (days since 1970-01-01 UTC, six
// hex digits) followed by the first 80 bits (20 hex digits) of
//
//	HMAC-SHA256(key, "bounced1:" + day + ":" + recipient)
//
// where day is the same six hex digits and recipient is the address the
// message was sent to with ASCII A–Z lower-cased (nothing else changed: no
// Unicode folding, no IDNA conversion). An MTA that cannot deliver the
// message sends the bounce to that address; only the key's holder can make
// a tag that checks out for a recipient, so a bounce delivered to one is
// authentic for that recipient and no other.
//
// The VERP form also carries the recipient, after the tag and an "=", with
// its "@" written as "=": bounces+TAG=alice=example.org@example.com. It is
// used only where the local part stays within 64 octets (RFC 5321 section
// 4.5.3.1.1); Sign never makes a longer one.
//
// The package depends on nothing outside the standard library, so that a
// campaign tool written in Go can import it alone.
package returnpath

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// The shape of a tag.
const (
	// Delimiter separates the return path's local part from the tag.
	Delimiter = '+'
	// VERPDelimiter separates the tag from a carried recipient, and that
	// recipient's local part from its domain.
	VERPDelimiter = '='
	// DayDigits is the number of hex digits of the day number.
	DayDigits = 6
	// MACBytes is the length of the truncated HMAC: 80 bits.
	MACBytes = 10
	// TagLength is the length of a tag: the day and the MAC in hex.
	TagLength = DayDigits + 2*MACBytes
	// MaxLocalPart is the longest local part RFC 5321 allows.
	MaxLocalPart = 64
	// MaxBaseLocalPart is the longest local part of a return path that
	// leaves room for the delimiter and a tag.
	MaxBaseLocalPart = MaxLocalPart - 1 - TagLength
	// MaxRecipient is the longest recipient signed: RFC 5321's 256-octet
	// path less its angle brackets.
	MaxRecipient = 254
	// MinKeyLength is the shortest key accepted, in bytes.
	MinKeyLength = 32
)

// DefaultMaxAge is how long a signature stays valid when Config.MaxAge is 0.
const DefaultMaxAge = 30 * 24 * time.Hour

// SkewDays is how many days ahead of the verifier's clock a signature may
// be dated: a sender whose clock runs a little fast signs with tomorrow's
// day number just before midnight UTC.
const SkewDays = 1

// macPrefix opens every MAC input; it names the scheme and its version, so
// that a key shared by mistake with another use cannot be turned against it.
const macPrefix = "bounced1:"

var (
	// ErrUnsigned is returned for an address that is not a signed form of
	// the return path.
	ErrUnsigned = errors.New("returnpath: not a signed return path")
	// ErrInvalid is returned for a signed return path that does not check
	// out. Its errors also match one of ErrMismatch, ErrExpired or
	// ErrFuture, or say that the tag is malformed.
	ErrInvalid = errors.New("returnpath: invalid signature")
	// ErrMismatch: the tag was not made with any configured key for this
	// recipient on its day.
	ErrMismatch = errors.New("the signature does not match the recipient")
	// ErrExpired: the tag is older than the maximum age.
	ErrExpired = errors.New("the signature has expired")
	// ErrFuture: the tag is dated more than SkewDays ahead.
	ErrFuture = errors.New("the signature is dated in the future")
)

// Config configures a Scheme.
type Config struct {
	// ReturnPath is the plain return-path address, bounces@example.com.
	ReturnPath string
	// Keys are the HMAC keys, each at least MinKeyLength bytes. The first
	// signs; all verify, so that a key can be rotated: put the new key
	// first, keep the old one until its last signatures have expired.
	Keys [][]byte
	// MaxAge is how long a signature stays valid, in whole days (rounded
	// down, at least one day); 0 means DefaultMaxAge.
	MaxAge time.Duration
}

// Scheme signs and verifies the return paths of one return-path address.
// It is safe for concurrent use.
type Scheme struct {
	local, domain string // of the return path, ASCII lower-cased
	returnPath    string // local@domain
	maxAgeDays    int64
	keys          []*key
}

// key is one HMAC key with a pool of hashes keyed with it: making an HMAC
// hashes the key twice, which would double the cost of a verification.
type key struct {
	pool sync.Pool // of *macState
}

// macState is a keyed hash with the buffers one MAC needs, so that making
// one allocates nothing.
type macState struct {
	h   hash.Hash
	msg []byte
	sum []byte
}

func newKey(k []byte) *key {
	k = append([]byte(nil), k...)
	return &key{pool: sync.Pool{New: func() any {
		return &macState{
			h:   hmac.New(sha256.New, k),
			msg: make([]byte, 0, len(macPrefix)+DayDigits+1+MaxRecipient),
			sum: make([]byte, 0, sha256.Size),
		}
	}}}
}

// truncatedMAC writes to dst (MACBytes long) the first MACBytes of the HMAC
// of macPrefix, the day's hex digits, a colon and the normalised recipient.
func (k *key) truncatedMAC(dst, day, recipient []byte) {
	st := k.pool.Get().(*macState)
	st.h.Reset()
	st.msg = append(append(append(append(st.msg[:0], macPrefix...), day...), ':'), recipient...)
	st.h.Write(st.msg)
	st.sum = st.h.Sum(st.sum[:0])
	copy(dst, st.sum[:MACBytes])
	k.pool.Put(st)
}

// New returns the Scheme of cfg. It refuses a return path that is not a
// plain address, whose local part leaves no room for a tag
// (MaxBaseLocalPart) or holds the Delimiter, no key, and keys shorter than
// MinKeyLength.
func New(cfg Config) (*Scheme, error) {
	local, domain, err := splitBase(cfg.ReturnPath)
	if err != nil {
		return nil, err
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("returnpath: no key")
	}
	s := &Scheme{local: local, domain: domain, returnPath: local + "@" + domain, maxAgeDays: int64(cfg.MaxAge / (24 * time.Hour))}
	if cfg.MaxAge == 0 {
		s.maxAgeDays = int64(DefaultMaxAge / (24 * time.Hour))
	}
	if s.maxAgeDays < 1 {
		return nil, fmt.Errorf("returnpath: maximum age %s is shorter than a day", cfg.MaxAge)
	}
	for i, k := range cfg.Keys {
		if len(k) < MinKeyLength {
			return nil, fmt.Errorf("returnpath: key %d is %d bytes, shorter than %d", i+1, len(k), MinKeyLength)
		}
		s.keys = append(s.keys, newKey(k))
	}
	return s, nil
}

// splitBase checks a plain return-path address and returns its local part
// and domain, ASCII lower-cased.
func splitBase(addr string) (local, domain string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", fmt.Errorf("returnpath: return path %q is not local@domain", addr)
	}
	local, domain = Normalize(addr[:at]), Normalize(addr[at+1:])
	switch {
	case len(local) > MaxBaseLocalPart:
		return "", "", fmt.Errorf("returnpath: the local part of %q is longer than %d octets: no room for a tag", addr, MaxBaseLocalPart)
	case strings.IndexByte(local, Delimiter) >= 0:
		return "", "", fmt.Errorf("returnpath: the local part of %q holds the tag delimiter %q", addr, Delimiter)
	case !isDotAtom(local) || !isDomain(domain):
		return "", "", fmt.Errorf("returnpath: return path %q is not a plain ASCII address", addr)
	}
	return local, domain, nil
}

// CheckReturnPath says why addr cannot be a return path to sign: it must be
// a plain ASCII address whose local part leaves room for a tag and holds no
// Delimiter. It returns nil for one that can.
func CheckReturnPath(addr string) error {
	_, _, err := splitBase(addr)
	return err
}

// ReturnPath returns the plain return-path address, ASCII lower-cased.
func (s *Scheme) ReturnPath() string { return s.returnPath }

// MaxAgeDays returns how many days a signature stays valid.
func (s *Scheme) MaxAgeDays() int64 { return s.maxAgeDays }

// Day returns the day number of t: whole days since 1970-01-01 UTC.
func Day(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 86399) / 86400
	}
	return u / 86400
}

// Normalize returns s with ASCII A–Z lower-cased and every other byte kept:
// the form of a recipient that is signed and compared.
func Normalize(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// checkRecipient says why r cannot be signed: it must be local@domain, at
// most MaxRecipient octets, without control characters or blanks.
func checkRecipient(r string) error {
	if len(r) > MaxRecipient {
		return fmt.Errorf("returnpath: recipient is longer than %d octets", MaxRecipient)
	}
	at := strings.LastIndexByte(r, '@')
	if at <= 0 || at == len(r)-1 {
		return fmt.Errorf("returnpath: recipient %q is not local@domain", r)
	}
	for i := 0; i < len(r); i++ {
		if r[i] <= ' ' || r[i] == 0x7f {
			return fmt.Errorf("returnpath: recipient %q holds a blank or control character", r)
		}
	}
	return nil
}

// Tag returns the tag of recipient on day under key: the day in six hex
// digits and the first MACBytes of the HMAC in hex. It is the whole
// algorithm; Sign uses it with the first configured key. The recipient is
// normalised (Normalize) first.
func Tag(key []byte, recipient string, day int64) string {
	return newKey(key).tag(Normalize(recipient), day)
}

func (k *key) tag(recipient string, day int64) string {
	var buf [TagLength]byte
	d := dayHex(buf[:0], day)
	var mac [MACBytes]byte
	k.truncatedMAC(mac[:], d, []byte(recipient))
	return string(hex.AppendEncode(d, mac[:]))
}

// dayHex appends day as DayDigits lower-case hex digits.
func dayHex(dst []byte, day int64) []byte {
	const digits = "0123456789abcdef"
	for i := DayDigits - 1; i >= 0; i-- {
		dst = append(dst, digits[(day>>(4*i))&0xf])
	}
	return dst
}

// maxDay is the last day DayDigits hex digits can hold.
const maxDay = 1<<(4*DayDigits) - 1

// Sign returns the signed return path for mail sent to recipient at now:
// local+TAG@domain. The local part is always MaxLocalPart octets or fewer.
func (s *Scheme) Sign(recipient string, now time.Time) (string, error) {
	tag, _, err := s.sign(recipient, now)
	if err != nil {
		return "", err
	}
	return s.local + string(Delimiter) + tag + "@" + s.domain, nil
}

// SignVERP is Sign in the VERP form that also carries the recipient,
// local+TAG=user=domain@domain, where that fits in MaxLocalPart octets and
// the recipient is a plain ASCII address; otherwise it returns what Sign
// does.
func (s *Scheme) SignVERP(recipient string, now time.Time) (string, error) {
	tag, rcpt, err := s.sign(recipient, now)
	if err != nil {
		return "", err
	}
	local := s.local + string(Delimiter) + tag
	if carried, ok := carry(rcpt); ok && len(local)+1+len(carried) <= MaxLocalPart {
		local += string(VERPDelimiter) + carried
	}
	return local + "@" + s.domain, nil
}

func (s *Scheme) sign(recipient string, now time.Time) (tag, rcpt string, err error) {
	if err := checkRecipient(recipient); err != nil {
		return "", "", err
	}
	day := Day(now)
	if day < 0 || day > maxDay {
		return "", "", fmt.Errorf("returnpath: cannot sign on %s: outside the days a tag can hold", now.UTC().Format(time.DateOnly))
	}
	rcpt = Normalize(recipient)
	return s.keys[0].tag(rcpt, day), rcpt, nil
}

// carry returns recipient (normalised) with its last "@" written as
// VERPDelimiter, if it is a dot-atom local part and an ASCII domain.
func carry(recipient string) (string, bool) {
	at := strings.LastIndexByte(recipient, '@')
	local, domain := recipient[:at], recipient[at+1:]
	if !isDotAtom(local) || !isDomain(domain) {
		return "", false
	}
	return local + string(VERPDelimiter) + domain, true
}

// Address is a signed return path taken apart by Parse.
type Address struct {
	// ReturnPath is the plain return path the tag was added to, as written.
	ReturnPath string
	// Day is the day number the tag was made on.
	Day int64
	// MAC is the truncated HMAC.
	MAC [MACBytes]byte
	// Recipient is the recipient a VERP form carries, "" for the plain form.
	// It is only as trustworthy as Verify says.
	Recipient string
}

// Parse takes a signed return path apart: local+TAG@domain or
// local+TAG=user=example.org@domain, where local is everything before the
// first Delimiter and TAG is TagLength hex digits (either case). An address
// of another shape is not signed: the error matches ErrUnsigned. A VERP
// form whose carried recipient is not user=domain matches ErrInvalid. Parse
// checks no signature.
func Parse(address string) (Address, error) {
	at := strings.LastIndexByte(address, '@')
	if at <= 0 || at == len(address)-1 {
		return Address{}, fmt.Errorf("%w: %q is not local@domain", ErrUnsigned, address)
	}
	local, domain := address[:at], address[at+1:]
	plus := strings.IndexByte(local, Delimiter)
	if plus <= 0 {
		return Address{}, fmt.Errorf("%w: %q has no tag", ErrUnsigned, address)
	}
	tag, rest := local[plus+1:], ""
	if len(tag) > TagLength {
		tag, rest = local[plus+1:plus+1+TagLength], local[plus+1+TagLength:]
	}
	if len(tag) != TagLength || !isHex(tag) || rest != "" && rest[0] != VERPDelimiter {
		return Address{}, fmt.Errorf("%w: %q has no tag of %d hex digits", ErrUnsigned, address, TagLength)
	}
	a := Address{ReturnPath: local[:plus] + "@" + domain}
	for i := 0; i < DayDigits; i++ {
		a.Day = a.Day<<4 | int64(unhex(tag[i]))
	}
	for i := range a.MAC {
		a.MAC[i] = unhex(tag[DayDigits+2*i])<<4 | unhex(tag[DayDigits+2*i+1])
	}
	if rest != "" {
		carried := rest[1:]
		eq := strings.LastIndexByte(carried, VERPDelimiter)
		if eq <= 0 || eq == len(carried)-1 {
			return Address{}, fmt.Errorf("%w: the recipient %q carried by %q is not user=domain", ErrInvalid, carried, address)
		}
		a.Recipient = carried[:eq] + "@" + carried[eq+1:]
	}
	return a, nil
}

// Owns reports whether address is the return path or a form of it with
// anything after the Delimiter (signed or not): an address of our own,
// never a failed recipient. Case is ignored.
func (s *Scheme) Owns(address string) bool { return IsReturnPath(address, s.ReturnPath()) }

// IsReturnPath reports whether address is returnPath, or returnPath's local
// part followed by the Delimiter and anything, at its domain. ASCII case is
// ignored. It needs no key: without one, the return path is still ours.
func IsReturnPath(address, returnPath string) bool {
	at, rat := strings.LastIndexByte(address, '@'), strings.LastIndexByte(returnPath, '@')
	if at <= 0 || rat <= 0 || !strings.EqualFold(address[at+1:], returnPath[rat+1:]) {
		return false
	}
	local, base := address[:at], returnPath[:rat]
	if len(local) > len(base) && local[len(base)] == Delimiter {
		local = local[:len(base)]
	}
	return strings.EqualFold(local, base)
}

// Verify checks that address is a signed form of the return path, made
// with one of the keys for recipient, no more than the maximum age before
// now and no more than SkewDays after. It returns nil when it is; an error
// matching ErrUnsigned when address is not a signed form of this return
// path; and an error matching ErrInvalid (and ErrMismatch, ErrExpired or
// ErrFuture) when it is one that does not check out. The comparison of the
// MAC takes constant time.
func (s *Scheme) Verify(address, recipient string, now time.Time) error {
	a, err := Parse(address)
	if err != nil {
		return err
	}
	return s.VerifyAddress(a, recipient, now)
}

// VerifyAddress is Verify for an address Parse has taken apart, so that
// one return path can be checked against many recipients.
func (s *Scheme) VerifyAddress(a Address, recipient string, now time.Time) error {
	if !s.Owns(a.ReturnPath) {
		return fmt.Errorf("%w: %s is not a form of %s", ErrUnsigned, a.ReturnPath, s.ReturnPath())
	}
	if err := s.checkDay(a.Day, now); err != nil {
		return err
	}
	if len(recipient) > MaxRecipient {
		return fmt.Errorf("%w: %w", ErrInvalid, ErrMismatch)
	}
	var buf [MaxRecipient]byte
	rcpt := appendNormalized(buf[:0], recipient)
	var dayBuf [DayDigits]byte
	day := dayHex(dayBuf[:0], a.Day)
	var mac [MACBytes]byte
	for _, k := range s.keys {
		k.truncatedMAC(mac[:], day, rcpt)
		if hmac.Equal(mac[:], a.MAC[:]) {
			return nil
		}
	}
	return fmt.Errorf("%w: %w", ErrInvalid, ErrMismatch)
}

// checkDay says whether a tag made on day is still valid at now.
func (s *Scheme) checkDay(day int64, now time.Time) error {
	today := Day(now)
	switch {
	case day > today+SkewDays:
		return fmt.Errorf("%w: %w (day %d, today is %d)", ErrInvalid, ErrFuture, day, today)
	case today-day > s.maxAgeDays:
		return fmt.Errorf("%w: %w (signed %d days ago, valid for %d)", ErrInvalid, ErrExpired, today-day, s.maxAgeDays)
	}
	return nil
}

// appendNormalized appends Normalize(s) to dst without allocating.
func appendNormalized(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isDotAtom reports whether s is an RFC 5322 dot-atom of ASCII atext: a
// local part that needs no quoting.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '.' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
			return false
		}
	}
	return true
}

// isDomain reports whether s is an ASCII domain name of letters, digits,
// hyphens and dots.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
