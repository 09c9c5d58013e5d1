package store

import "testing"

func TestNormalizeAddress(t *testing.T) {
	for _, tc := range []struct{ in, want, domain string }{
		{"alice@customer.example", "alice@customer.example", "customer.example"},
		{" alice@customer.example", "alice@customer.example", "customer.example"},
		{"alice@customer.example\t", "alice@customer.example", "customer.example"},
		{"<alice@customer.example>", "alice@customer.example", "customer.example"},
		{" < alice@customer.example > ", "alice@customer.example", "customer.example"},
		{"alice@customer.example.", "alice@customer.example", "customer.example"},
		{"Alice@Customer.EXAMPLE", "Alice@customer.example", "customer.example"},
		{"bob@bücher.example", "bob@xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"bob@BÜCHER.example", "bob@xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"bob@XN--BCHER-KVA.EXAMPLE", "bob@xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"bob@xn--bcher-kva.example.", "bob@xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"bob@bu\u0308cher.example", "bob@xn--bcher-kva.example", "xn--bcher-kva.example"}, // decomposed ü
		{"李@例子.测试", "李@xn--fsqu00a.xn--0zwm56d", "xn--fsqu00a.xn--0zwm56d"},
		{"\"a b\"@x.example", "", ""}, // white space inside is refused, quoted or not
		{"x@[192.0.2.1]", "x@[192.0.2.1]", "[192.0.2.1]"},
		{"x@[IPv6:2001:DB8::1]", "x@[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]"},
		{"root+tag@sub.example.org", "root+tag@sub.example.org", "sub.example.org"},
		{" <a.b@Sub.Example.> ", "a.b@sub.example", "sub.example"},
		{"\"q@x\"@Example.com", "\"q@x\"@example.com", "example.com"},
	} {
		got, d, ok := NormalizeAddress(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("NormalizeAddress(%q) = %q, want not ok", tc.in, got)
			}
			continue
		}
		if !ok || got != tc.want || d != tc.domain {
			t.Errorf("NormalizeAddress(%q) = %q, %q, %v; want %q, %q", tc.in, got, d, ok, tc.want, tc.domain)
		}
	}
}

func TestNormalizeAddressRefuses(t *testing.T) {
	for _, in := range []string{
		"", " ", "alice", "@example.com", "alice@", "alice@.", "alice@example..com", "alice@exa mple.com",
		"al ice@example.com", "al\x00ice@example.com", "alice@exa\x1bmple.com", "<alice@example.com",
		"alice@example.com>", "a<b@example.com", "alice@xn--zz.example", "alice@-bad.example",
		"alice@[300.1.1.1]", "alice@[IPv6:nope]", "alice@example.com..", "alice@\xff.example",
		"alice@exa_mple.com", "alice@example.com\n.evil", "two words@example.org",
	} {
		if got, _, ok := NormalizeAddress(in); ok {
			t.Errorf("NormalizeAddress(%q) = %q, ok; want refused", in, got)
		}
	}
	if d := domainOf(`"News" <news@Sender.Example>`); d != "sender.example" {
		t.Errorf("domainOf = %q", d)
	}
}
