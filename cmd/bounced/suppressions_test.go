package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func TestSuppressionsCommands(t *testing.T) {
	url := migratedDB(t)
	db := []string{"--database-url", url}
	cmd := func(args ...string) (int, string, string) { return runDB(t, append(args, db...)...) }

	if code, _, errOut := cmd("suppressions", "add", "Ann@Example.ORG"); code != 2 || !strings.Contains(errOut, "--reason") {
		t.Errorf("add without --reason: exit %d, %q", code, errOut)
	}
	if code, _, errOut := cmd("suppressions", "add", "ann@example.org", "--reason", "bogus"); code != 1 || !strings.Contains(errOut, "unknown reason") {
		t.Errorf("add with an unknown reason: exit %d, %q", code, errOut)
	}
	code, out, errOut := cmd("suppressions", "add", "Ann@Example.ORG", "--reason", "complaint", "--by", "carol", "--note", "phoned us")
	if code != 0 || !strings.Contains(out, "Ann@example.org") {
		t.Fatalf("add: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := cmd("suppressions", "add", "bob@example.net", "--reason", "user_unknown"); code != 0 {
		t.Fatalf("add bob: %s", errOut)
	}

	code, out, _ = cmd("suppressions", "list")
	if code != 0 || !strings.Contains(out, "ADDRESS") || !strings.Contains(out, "Ann@example.org") ||
		!strings.Contains(out, "complaint") || !strings.Contains(out, "bob@example.net") {
		t.Errorf("list: exit %d:\n%s", code, out)
	}

	code, out, _ = cmd("suppressions", "export", "--format", "csv")
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(records) != 3 || records[0][0] != "address" || records[1][0] != "Ann@example.org" ||
		records[1][1] != "complaint" || records[1][6] != "" || records[1][7] != "true" {
		t.Errorf("export csv: exit %d, %v:\n%s", code, err, out)
	}

	code, out, _ = cmd("suppressions", "export", "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first struct {
		Address   string  `json:"address"`
		Reason    string  `json:"reason"`
		ExpiresAt *string `json:"expires_at"`
		Manual    bool    `json:"manual"`
	}
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil ||
		first.Address != "Ann@example.org" || first.ExpiresAt != nil || !first.Manual {
		t.Errorf("export json: exit %d:\n%s", code, out)
	}
	if code, _, _ := cmd("suppressions", "export", "--format", "xml"); code != 2 {
		t.Errorf("export --format xml: exit %d, want 2", code)
	}

	if code, _, errOut := cmd("suppressions", "remove", "ann@example.org"); code != 2 || !strings.Contains(errOut, "--reason is required") {
		t.Errorf("remove without --reason: exit %d, %q", code, errOut)
	}
	code, out, errOut = cmd("suppressions", "remove", "ann@EXAMPLE.org", "--reason", "confirmed opt-in again", "--by", "carol")
	if code != 0 || !strings.Contains(out, "lifted") {
		t.Fatalf("remove: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := cmd("suppressions", "remove", "ann@example.org", "--reason", "again"); code != 1 || !strings.Contains(errOut, "not suppressed") {
		t.Errorf("second remove: exit %d, %q", code, errOut)
	}
	code, out, _ = cmd("suppressions", "list")
	if code != 0 || strings.Contains(out, "Ann@example.org") || !strings.Contains(out, "bob@example.net") {
		t.Errorf("list after remove:\n%s", out)
	}

	if code, _, _ := runDB(t, "suppressions", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
