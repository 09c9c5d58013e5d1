// Package testenv starts the servers a package's tests need, so that
// `go test ./...` runs every test on a machine that has PostgreSQL and
// Dovecot installed, with no set-up.
//
// A test package that needs a service says so in its TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Exit(testenv.Main(m, testenv.PostgreSQL, testenv.Dovecot))
//	}
//
// For each service Main leaves a server named in the environment alone
// (TEST_DATABASE_URL; TEST_IMAP_ADDR and the other TEST_IMAP_* variables of
// .ci/dovecot.sh), which is how CI and a developer with their own servers
// run the tests. Otherwise, when the server's programs are installed
// (Debian's packages: /usr/lib/postgresql/*/bin, /usr/sbin/dovecot), it
// starts a throw-away server on free loopback ports, sets those variables
// for the package's tests, and stops and removes the server after them.
// When neither is possible the variables stay unset and the tests that need
// them skip, or fail with CI=true (storetest.NewDatabase and the packages'
// requireDovecot helpers decide). The tests themselves only ever read the
// variables.
//
// PostgreSQL is started by package pgtemp as .ci/postgres.sh does (initdb with trust
// authentication, fsync off), as the postgres user when the tests run as
// root. Dovecot is started by .ci/dovecot.sh itself, so that there is one
// description of the test server.
//
// Corpus finds the corpus of real bounces: BOUNCED_CORPUS, else
// ../shared/corpus beside the module.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/pgtemp"
)

// Service is a server the tests of a package need.
type Service int

// The services Main can provide.
const (
	PostgreSQL Service = iota + 1
	Dovecot
)

func (s Service) String() string {
	switch s {
	case PostgreSQL:
		return "PostgreSQL"
	case Dovecot:
		return "Dovecot"
	}
	return "service " + strconv.Itoa(int(s))
}

// Main provides the services, runs the tests and returns their exit code,
// for os.Exit. A service that fails to start is reported on stderr and its
// tests then skip (or fail with CI=true) as if it were not installed.
func Main(m *testing.M, services ...Service) int {
	var stops []func()
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	for _, s := range services {
		stop, err := provide(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %s: %v\n", s, err)
			continue
		}
		if stop != nil {
			stops = append(stops, stop)
		}
	}
	return m.Run()
}

// errNotInstalled means the service's programs are not on this machine.
var errNotInstalled = errors.New("not installed")

// provide starts s unless the environment names a server already, and
// returns how to stop it (nil when nothing was started).
func provide(s Service) (func(), error) {
	switch s {
	case PostgreSQL:
		if os.Getenv("TEST_DATABASE_URL") != "" {
			return nil, nil
		}
		stop, err := startPostgres()
		if errors.Is(err, errNotInstalled) {
			return nil, nil // the tests say what they lack
		}
		return stop, err
	case Dovecot:
		if os.Getenv("TEST_IMAP_ADDR") != "" {
			return nil, nil
		}
		stop, err := startDovecot()
		if errors.Is(err, errNotInstalled) {
			return nil, nil
		}
		return stop, err
	}
	return nil, fmt.Errorf("unknown service")
}

// startPostgres starts a throw-away PostgreSQL (package pgtemp) and sets
// TEST_DATABASE_URL to it.
func startPostgres() (func(), error) {
	c, err := pgtemp.Start(context.Background(), pgtemp.Options{DirPrefix: "bounced-testpg-", MaxConnections: 200})
	if errors.Is(err, pgtemp.ErrNotInstalled) {
		return nil, errNotInstalled
	}
	if err != nil {
		return nil, err
	}
	os.Setenv("TEST_DATABASE_URL", c.URL)
	return func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
	}, nil
}

// dovecotVars are the variables .ci/dovecot.sh exports.
var dovecotVars = []string{"DOVECOT_TEST_DIR", "TEST_IMAP_ADDR", "TEST_IMAPS_ADDR", "TEST_IMAP_USER",
	"TEST_IMAP_PASSWORD", "TEST_IMAP_CA", "TEST_IMAP_NOMOVE_ADDR", "TEST_IMAP_NOUIDPLUS_ADDR", "TEST_LMTP_ADDR"}

// startDovecot starts a throw-away Dovecot with .ci/dovecot.sh on free
// loopback ports and sets the variables it exports.
func startDovecot() (func(), error) {
	if _, err := os.Stat("/usr/sbin/dovecot"); err != nil {
		return nil, errNotInstalled
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = pgtemp.FreePort(context.Background()); err != nil {
			return nil, err
		}
	}
	// Source the script, keep the server running past the shell (its EXIT
	// trap would stop it), and write the variables it exported to a file.
	// Files, not pipes: the daemon inherits the shell's descriptors and
	// would keep a pipe open for as long as it runs.
	tmp, err := os.MkdirTemp("", "bounced-testenv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	envFile, logFile := filepath.Join(tmp, "env"), filepath.Join(tmp, "log")
	script := `. .ci/dovecot.sh >"$1" 2>&1 || exit 1; trap - EXIT; env >"$2"`
	cmd := exec.Command("bash", "-c", script, "bash", logFile, envFile)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), fmt.Sprintf("DOVECOT_TEST_PORT=%d", ports[0]),
		fmt.Sprintf("DOVECOT_TEST_TLS_PORT=%d", ports[1]), fmt.Sprintf("DOVECOT_TEST_LMTP_PORT=%d", ports[2]))
	err = cmd.Run()
	log, _ := os.ReadFile(logFile)
	if err != nil {
		return nil, fmt.Errorf(".ci/dovecot.sh: %w\n%s", err, log)
	}
	out, err := os.ReadFile(envFile)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && slices.Contains(dovecotVars, k) {
			vars[k] = v
		}
	}
	dir := vars["DOVECOT_TEST_DIR"]
	stop := func() {
		if dir == "" {
			return
		}
		if out, err := exec.Command("doveadm", "-c", filepath.Join(dir, "dovecot.conf"), "stop").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping Dovecot: %v %s\n", err, out)
		}
		// The master exits after its children; give it a moment before
		// removing the directory it logs to.
		time.Sleep(100 * time.Millisecond)
		os.RemoveAll(dir)
	}
	if vars["TEST_IMAP_ADDR"] == "" {
		stop()
		return nil, fmt.Errorf(".ci/dovecot.sh exported no TEST_IMAP_ADDR\n%s", log)
	}
	for k, v := range vars {
		os.Setenv(k, v)
	}
	return stop, nil
}

// moduleRoot returns the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// Corpus returns the directory sub of the corpus of real bounces:
// BOUNCED_CORPUS, else ../shared/corpus beside the module. It skips the
// test when the directory is missing, and fails it with CI=true.
func Corpus(tb testing.TB, sub string) string {
	tb.Helper()
	root := os.Getenv("BOUNCED_CORPUS")
	if root == "" {
		mod, err := moduleRoot()
		if err != nil {
			tb.Fatal(err)
		}
		root = filepath.Join(mod, "..", "shared", "corpus")
	}
	dir := filepath.Join(root, sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the bounce corpus is missing in CI: %v", err)
		}
		tb.Skipf("bounce corpus not found (%v); set BOUNCED_CORPUS", err)
	}
	return dir
}
