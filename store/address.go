package store

import (
	"net/mail"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeAddress returns the one form in which bounced stores and looks
// up an address, and its domain. Every write (WriteBatch, AddSuppression)
// and every lookup (Suppressed, LiftSuppression, Audit) goes through it, so
// an address matches however it is written:
//
//   - surrounding white space and one pair of angle brackets are removed
//     (" <alice@example.com> ");
//   - one trailing dot of the domain is removed (the root of the DNS);
//   - the domain is lower-cased and an internationalised domain is put in
//     its ASCII form (IDNA lookup, UTS #46): "bücher.example" and
//     "XN--BCHER-KVA.example" are both "xn--bcher-kva.example";
//   - an address literal ("[192.0.2.1]") is kept, checked as an IP address;
//   - the local part is kept as sent (RFC 5321 section 2.4 leaves its case
//     to the receiving host); lookups compare it without regard to case.
//
// It returns ok=false when addr is not an address: no local part or no
// domain, white space, control characters or angle brackets inside, or a
// domain that is not a valid host name. Callers must treat that as an
// error, never as "not suppressed".
func NormalizeAddress(addr string) (normalized, domain string, ok bool) {
	a := strings.TrimSpace(addr)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = strings.TrimSpace(a[1 : len(a)-1])
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || !utf8.ValidString(a) {
		return "", "", false
	}
	local := a[:at]
	for _, r := range local {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return "", "", false
		}
	}
	domain, ok = normalizeDomain(a[at+1:])
	if !ok {
		return "", "", false
	}
	return local + "@" + domain, domain, true
}

// normalizeDomain returns the lower-case ASCII form of the domain d of an
// address, or ok=false when d is not a host name or an address literal.
func normalizeDomain(d string) (string, bool) {
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		// RFC 5321 section 4.1.3: [IPv4] or [IPv6:addr].
		lit := d[1 : len(d)-1]
		if v6, found := strings.CutPrefix(strings.ToLower(lit), "ipv6:"); found {
			ip, err := netip.ParseAddr(v6)
			if err != nil || !ip.Is6() {
				return "", false
			}
			return "[IPv6:" + ip.String() + "]", true
		}
		ip, err := netip.ParseAddr(lit)
		if err != nil || !ip.Is4() {
			return "", false
		}
		return "[" + ip.String() + "]", true
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", false
	}
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", false
	}
	return ascii, true
}

// domainOf returns the normalised domain of a header address such as
// `"News" <news@Example.com>`, or "" when there is none.
func domainOf(header string) string {
	if header == "" {
		return ""
	}
	// The common shapes, without a full parse: addr@domain, Name <addr@domain>.
	if i := strings.LastIndexByte(header, '<'); i >= 0 && strings.HasSuffix(header, ">") {
		header = header[i+1 : len(header)-1]
	} else if a, err := mail.ParseAddress(header); err == nil {
		header = a.Address
	}
	if _, d, ok := NormalizeAddress(header); ok {
		return d
	}
	return ""
}
