//go:build faultinject

package main

import (
	"fmt"
	"os"
)

// A binary built with `go build -tags faultinject` can be told to crash at
// the worst moment, for the end-to-end tests (e2e_test.go):
//
//	BOUNCED_FAULT=exit-after-commit
//
// exits with status 137 (as if killed) right after the first batch has
// committed to PostgreSQL and before any of its messages is moved or
// flagged. Without the variable the binary behaves like a normal one.
func init() {
	if os.Getenv("BOUNCED_FAULT") == "exit-after-commit" {
		afterCommit = func() {
			fmt.Fprintln(os.Stderr, "bounced: BOUNCED_FAULT=exit-after-commit: exiting after the first commit")
			os.Exit(137)
		}
	}
}
