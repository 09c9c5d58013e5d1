package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The configuration docker-compose.yml gives bounced must pass check-config
// with the environment the compose file gives the bounced service, both as
// compose-go (docker compose's loader) reads them.
func TestComposeConfigurationChecks(t *testing.T) {
	project := loadCompose(t)
	c, ok := project.Configs["bounced"]
	if !ok || c.Content == "" {
		t.Fatal("docker-compose.yml has no bounced configuration")
	}
	path := filepath.Join(t.TempDir(), "bounced.conf")
	if err := os.WriteFile(path, []byte(c.Content), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, value := range project.Services["bounced"].Environment {
		if value != nil {
			t.Setenv(name, *value)
		}
	}
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
