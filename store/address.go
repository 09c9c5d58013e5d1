package store

import (
	"net/mail"
	"strings"
)

// NormalizeAddress returns addr with surrounding space and angle brackets
// removed and the domain lower-cased; the local part is kept as sent (RFC
// 5321 leaves its case to the receiving server). It returns ok=false when
// addr has no local part or no domain.
func NormalizeAddress(addr string) (normalized, domain string, ok bool) {
	a := strings.TrimSpace(addr)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t\r\n<>") {
		return "", "", false
	}
	domain = strings.ToLower(strings.TrimSuffix(a[at+1:], "."))
	if domain == "" {
		return "", "", false
	}
	return a[:at] + "@" + domain, domain, true
}

// domainOf returns the lower-cased domain of a header address such as
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
