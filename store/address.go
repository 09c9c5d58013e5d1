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
	if a, err := mail.ParseAddress(header); err == nil {
		header = a.Address
	}
	if _, d, ok := NormalizeAddress(header); ok {
		return d
	}
	return ""
}
