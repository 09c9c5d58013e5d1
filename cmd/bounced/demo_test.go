package main

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/bounced/bounced/store/storetest"
)

// TestDemoWithoutDatabase runs the main job on the embedded mailbox: every
// sample message must leave INBOX for Processed or Unrecognized, and the
// verdicts must include suppressions and sender-side alerts.
func TestDemoWithoutDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	code, out, errOut := runDB(t, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	samples, err := fs.Glob(demoMessages, "demodata/*.eml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no embedded samples: %v", err)
	}
	var processed, unrecognized int
	if _, err := fmt.Sscanf(out[strings.Index(out, "Mailbox after the pass:"):], "Mailbox after the pass: INBOX 0, Processed %d, Unrecognized %d.", &processed, &unrecognized); err != nil {
		t.Fatalf("reading the folder counts (%v) from:\n%s", err, out)
	}
	if processed+unrecognized != len(samples) || unrecognized != 1 {
		t.Errorf("Processed %d + Unrecognized %d, want %d messages with the newsletter unrecognized", processed, unrecognized, len(samples))
	}
	for _, want := range []string{"user_unknown  recipient  suppress", "auth_failure  sender     alert", "complaint     recipient  suppress", "No database named"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoWithDatabase runs the demo against PostgreSQL: it migrates, records
// and lists the suppressions it made; a second run, with the same
// messages under new UIDs, records nothing twice.
func TestDemoWithDatabase(t *testing.T) {
	url := storetest.NewDatabase(t)
	code, out, errOut := runDB(t, "demo", "--database-url", url)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	list := out[strings.Index(out, "Suppression list in PostgreSQL:"):]
	for _, addr := range []string{"jane@example.org", "bob@example.org", "nina@isp.example.net"} {
		if !strings.Contains(list, addr) {
			t.Errorf("suppression list lacks %s:\n%s", addr, list)
		}
	}
	for _, sender := range []string{"amir@example.net", "jane.doe@example.net"} {
		if strings.Contains(list, sender) {
			t.Errorf("a sender-side failure suppressed %s:\n%s", sender, list)
		}
	}
	// The same messages again (a new server, so new UIDVALIDITY and UIDs):
	// the ledger knows their content, so no count moves.
	code, out, errOut = runDB(t, "demo", "--database-url", url)
	if code != 0 {
		t.Fatalf("second demo: exit %d: %s", code, errOut)
	}
	if again := out[strings.Index(out, "Suppression list in PostgreSQL:"):]; again != list {
		t.Errorf("the second pass changed the suppressions:\nfirst:\n%s\nsecond:\n%s", list, again)
	}
}
