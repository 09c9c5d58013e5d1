package dsn

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestDeliveredTo(t *testing.T) {
	msg := "Delivered-To: Bounces+005139abc@Example.COM\r\n" +
		"X-Original-To: bounces+005139abc@example.com\r\n" +
		"Envelope-To: other@example.com\r\n" +
		strings.Replace(sampleDSN, "To: bounces+jane=example.org@lists.example.com",
			"To: \"Bounces\" <bounces+005139abc@example.com>, second@example.com", 1)
	rep, err := Parse(strings.NewReader(msg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bounces+005139abc@example.com", "second@example.com", "other@example.com"}
	if !slices.Equal(rep.DeliveredTo, want) {
		t.Errorf("DeliveredTo = %q, want %q", rep.DeliveredTo, want)
	}

	// A header naming thousands of addresses yields MaxDeliveredTo.
	var many strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&many, "u%d@example.org, ", i)
	}
	msg = strings.Replace(sampleDSN, "To: bounces+jane=example.org@lists.example.com", "To: "+many.String(), 1)
	rep, err = Parse(strings.NewReader(msg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.DeliveredTo) != MaxDeliveredTo {
		t.Errorf("%d DeliveredTo addresses, want %d", len(rep.DeliveredTo), MaxDeliveredTo)
	}
}

func TestOriginalReturnPath(t *testing.T) {
	f, err := os.Open("testdata/arf-complaint.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Parse(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Original.ReturnPath != "bounces@example.com" {
		t.Errorf("Original.ReturnPath = %q, want bounces@example.com", rep.Original.ReturnPath)
	}
	if !slices.Equal(rep.DeliveredTo, []string{"fbl-reports@example.com"}) {
		t.Errorf("DeliveredTo = %q", rep.DeliveredTo)
	}
}

// hugeDSN returns a DSN naming n recipients, each in its own group, with
// blank lines between the groups or (blankless) without.
func hugeDSN(n int, blankless bool, parts int) string {
	var b strings.Builder
	b.WriteString("From: MAILER-DAEMON@mail.example.com\r\nTo: bounces@example.com\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n")
	per := n / parts
	for p := range parts {
		b.WriteString("--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.com\r\n\r\n")
		for i := p * per; i < (p+1)*per; i++ {
			fmt.Fprintf(&b, "Final-Recipient: rfc822; user%06d@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n", i)
			if !blankless {
				b.WriteString("\r\n")
			}
		}
	}
	b.WriteString("--b1--\r\n")
	return b.String()
}

func TestRecipientsDropped(t *testing.T) {
	for _, c := range []struct {
		name      string
		n, parts  int
		blankless bool
	}{
		{"100,000 recipients", 100000, 1, false},
		{"100,000 recipients without blank lines", 100000, 1, true},
		{"100,000 recipients in 10 parts", 100000, 10, false},
	} {
		rep, err := Parse(strings.NewReader(hugeDSN(c.n, c.blankless, c.parts)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		kept := len(rep.Recipients)
		if kept == 0 || rep.RecipientsDropped == 0 || kept+rep.RecipientsDropped != c.n {
			t.Errorf("%s: %d kept + %d dropped, want %d together", c.name, kept, rep.RecipientsDropped, c.n)
		}
		// Every recipient kept is whole: its address and its status.
		for _, r := range rep.Recipients {
			if len(r.Address) != len("user000000@example.org") || r.Status != "5.1.1" || r.Verdict != VerdictSuppress {
				t.Fatalf("%s: a recipient cut in half: %+v", c.name, r)
			}
		}
		for _, res := range rep.Results()[:1] {
			if res.RecipientsDropped != rep.RecipientsDropped {
				t.Errorf("%s: Result.RecipientsDropped = %d, want %d", c.name, res.RecipientsDropped, rep.RecipientsDropped)
			}
		}
	}

	// A DSN within the bound drops nothing.
	rep, err := Parse(strings.NewReader(hugeDSN(1000, false, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1000 || rep.RecipientsDropped != 0 {
		t.Errorf("1000 recipients: %d kept, %d dropped", len(rep.Recipients), rep.RecipientsDropped)
	}
}

func TestLineCounter(t *testing.T) {
	text := "Final-Recipient: a\nfinal-recipient: b\n  Final-Recipient: c\nX-Final-Recipient: d\nFINAL-RECIPIENT:e\nFinal-Recipient"
	for _, step := range []int{1, 3, 7, len(text)} {
		l := lineCounter{prefix: "final-recipient:"}
		for i := 0; i < len(text); i += step {
			l.write([]byte(text[i:min(i+step, len(text))]))
		}
		if l.n != 3 {
			t.Errorf("writes of %d bytes: counted %d, want 3", step, l.n)
		}
	}
}
