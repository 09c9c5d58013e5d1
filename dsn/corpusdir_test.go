package dsn

import (
	"os"
	"path/filepath"
	"testing"
)

// The corpus of real bounces lives beside the project, in
// ../shared/corpus (BOUNCED_CORPUS overrides). It is never copied into the
// repository. Locally a missing corpus skips these tests; in CI it fails.

// corpusDir returns the corpus directory, or skips (fails in CI).
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("BOUNCED_CORPUS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			tb.Fatalf("getting the working directory: %v", err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "corpus")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "labels.jsonl")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the bounce corpus is missing in CI (looked in %q): %v", dir, err)
		}
		tb.Skipf("bounce corpus not found (%v); set BOUNCED_CORPUS", err)
	}
	return dir
}
