package dsn_test

import (
	"fmt"
	"strings"

	"github.com/bounced/bounced/dsn"
)

func ExampleParse() {
	msg := "From: MAILER-DAEMON@mail.example.com\r\n" +
		"To: bounces@example.com\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Your message could not be delivered.\r\n" +
		"--b\r\n" +
		"Content-Type: message/delivery-status\r\n" +
		"\r\n" +
		"Reporting-MTA: dns; mail.example.com\r\n" +
		"\r\n" +
		"Final-Recipient: rfc822; jane@Example.ORG\r\n" +
		"Action: failed\r\n" +
		"Status: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 <jane@example.org>: User unknown\r\n" +
		"--b--\r\n"

	rep, err := dsn.Parse(strings.NewReader(msg), dsn.Options{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, r := range rep.Results() {
		fmt.Println(r.Recipient, r.Status, r.SMTPCode, r.Kind)
	}
	// Output:
	// jane@example.org 5.1.1 550 dsn
}
