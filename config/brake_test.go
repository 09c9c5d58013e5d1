package config

import (
	"strings"
	"testing"
)

func TestBrakeSettings(t *testing.T) {
	cfg, problems := Parse([]byte(`
[mailbox a]
address = 127.0.0.1:143
username = u
password_env = P
max_suppressions_per_message = 0
max_suppressions_per_hour = 20
[mailbox b]
address = 127.0.0.1:143
username = u
password_env = P
`))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	a, b := cfg.Mailboxes[0], cfg.Mailboxes[1]
	if a.MaxSuppressionsPerMessage != 0 || a.MaxSuppressionsPerHour != 20 {
		t.Errorf("a: per message %d, per hour %d; want 0 (off), 20", a.MaxSuppressionsPerMessage, a.MaxSuppressionsPerHour)
	}
	if b.MaxSuppressionsPerMessage != 100 || b.MaxSuppressionsPerHour != 5000 {
		t.Errorf("b: per message %d, per hour %d; want the defaults 100, 5000", b.MaxSuppressionsPerMessage, b.MaxSuppressionsPerHour)
	}

	_, problems = Parse([]byte(`
[mailbox a]
address = 127.0.0.1:143
username = u
password_env = P
max_suppressions_per_message = -1
max_suppressions_per_hour = lots
`))
	text := problems.Error()
	for _, want := range []string{
		`line 6: mailbox "a": max_suppressions_per_message: "-1" is not a whole number from 0`,
		`line 7: mailbox "a": max_suppressions_per_hour: "lots" is not a whole number from 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing problem %q in:\n%s", want, text)
		}
	}
}
