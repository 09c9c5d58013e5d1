package config

import (
	"os"
	"path/filepath"
	"testing"
)

// writeFile writes content to the file name in dir, readable by its owner
// only like a real secret file, and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
