package store

import (
	"os"
	"testing"

	"github.com/bounced/bounced/internal/testenv"
)

// TestMain starts the servers the tests need when none is named in the
// environment (see internal/testenv).
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.PostgreSQL))
}
