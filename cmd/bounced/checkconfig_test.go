package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// composeConfig returns the bounced configuration embedded in
// docker-compose.yml (the block under configs: bounced: content: |).
func composeConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	inConfigs, inBounced := false, false
	for i, line := range lines {
		switch {
		case line == "configs:":
			inConfigs = true
		case inConfigs && line == "  bounced:":
			inBounced = true
		case inBounced && strings.TrimSpace(line) == "content: |":
			var block []string
			for _, l := range lines[i+1:] {
				if l != "" && !strings.HasPrefix(l, "      ") {
					break
				}
				block = append(block, strings.TrimPrefix(l, "      "))
			}
			return strings.Join(block, "\n")
		}
	}
	t.Fatal("docker-compose.yml has no configs: bounced: content: | block")
	return ""
}

// The configuration docker-compose.yml gives bounced must pass check-config
// with the environment the compose file sets.
func TestComposeConfigurationChecks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(path, []byte(composeConfig(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "postgres://bounced:bounced@postgres:5432/bounced?sslmode=disable")
	t.Setenv("BOUNCED_IMAP_PASSWORD", "bounces")
	t.Setenv("BOUNCED_API_TOKEN", "try-bounced-token-0123")
	code, out, errOut := runCLI(t, "check-config", "-config", path)
	if code != 0 {
		t.Fatalf("check-config of the compose configuration: exit %d\n%s%s", code, out, errOut)
	}
}

func TestMissingConfigurationSaysHowToNameOne(t *testing.T) {
	code, _, errOut := runCLI(t, "check-config", "-config", filepath.Join(t.TempDir(), "absent.conf"))
	if code == 0 || !strings.Contains(errOut, "-config or BOUNCED_CONFIG") {
		t.Errorf("exit %d, stderr %q; want a failure that says how to name the file", code, errOut)
	}
}
