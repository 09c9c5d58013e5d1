package dsn_test

import (
	"fmt"

	"github.com/bounced/bounced/dsn"
)

func ExampleClassify() {
	// Exim writes only the class of the status; the server's words decide.
	c := dsn.Classify(dsn.Evidence{
		Kind:       dsn.KindDSN,
		Action:     dsn.ActionFailed,
		Status:     "5.0.0",
		SMTPCode:   554,
		Diagnostic: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
	})
	fmt.Println(c.Reason, c.Scope, c.Verdict)

	// A message without an enhanced status gets an inferred one.
	c = dsn.Classify(dsn.Evidence{Kind: dsn.KindNonStandard, SMTPCode: 550, Diagnostic: "550 Unknown user"})
	fmt.Println(c.Reason, c.Verdict, dsn.InferStatus(c, 550))
	// Output:
	// blocklisted sender alert
	// user_unknown suppress 5.1.1
}

func ExampleExplainCode() {
	ce, err := dsn.ExplainCode("5.7.26", "en")
	if err != nil {
		panic(err)
	}
	fmt.Println(ce.StatusText)
	fmt.Println(ce.Reason, ce.Verdict)
	// Output:
	// Multiple authentication checks failed
	// auth_failure alert
}
