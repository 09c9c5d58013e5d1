package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/cmd/bounced/internal/statuspage"
	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/store"
)

// interactive reports whether r is a terminal: the demo serves its status
// page by default only to a person who can press Ctrl-C, never in CI or a
// pipe.
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// serveDemo serves the status page for the demo's store on listen until ctx
// ends (Ctrl-C), signed in with a token made for this run and printed.
// ready, when not nil, gets the address served once it listens.
func serveDemo(ctx context.Context, e env, st *store.Store, listen string, status statuspage.StatusSource, ready func(addr, token string)) int {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	token := hex.EncodeToString(secret)
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	page, err := statuspage.New(statuspage.Options{Store: st, Status: status,
		Tokens: []config.Secret{config.NewSecret(token)}, Logger: logger})
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
		return 1
	}
	mux := http.NewServeMux()
	page.Register(mux)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: serving the status page: %v (choose another address with --listen)\n", err)
		return 1
	}
	srv := httpapi.NewServer(mux, httpapi.DefaultServerLimits)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	fmt.Fprintf(e.stdout, "\nStatus page: http://%s/\nSign in with the token %s\nCtrl-C stops the demo.\n", addr, token)
	if ready != nil {
		ready(addr, token)
	}
	select {
	case <-ctx.Done():
	case err := <-done:
		fmt.Fprintf(e.stderr, "bounced demo: the status page stopped: %v\n", err)
		return 1
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx) // Ctrl-C: whatever is still open ends with the process
	return 0
}

// watcherStatus shows one watcher's state to the status page.
type watcherStatus struct{ w *imapwatch.Watcher }

func (s watcherStatus) Statuses() []imapwatch.Status { return []imapwatch.Status{s.w.Status()} }

// tempCluster is a throw-away PostgreSQL cluster in a temporary directory,
// listening on a free loopback port, for a demo without a database.
type tempCluster struct {
	dir    string
	pgCtl  string
	asUser string // run the server as this user (when we are root), or ""
	URL    string
}

// findInitdb returns the directory of PostgreSQL's initdb and pg_ctl: on
// the PATH, or Debian's /usr/lib/postgresql/VERSION/bin (the newest); ""
// when PostgreSQL is not installed.
func findInitdb() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// pgVersion is the major version in a path /usr/lib/postgresql/V/bin/initdb.
func pgVersion(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// startTempCluster initialises and starts a cluster with the binaries in
// bin. As root it runs PostgreSQL as the postgres user, which PostgreSQL
// requires. The caller must call stop.
func startTempCluster(ctx context.Context, bin string) (*tempCluster, error) {
	dir, err := os.MkdirTemp("", "bounced-demo-pg-")
	if err != nil {
		return nil, fmt.Errorf("making the demo database's directory: %w", err)
	}
	c := &tempCluster{dir: dir, pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("PostgreSQL does not run as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("handing the demo database's directory to postgres: %w", err)
		}
		c.asUser = "postgres"
	}
	port, err := freePort(ctx)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if out, err := c.command(ctx, c.pgCtl, "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-o", opts, "start").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting PostgreSQL: %w: %s", err, out)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// command runs name as the cluster's user.
func (c *tempCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if c.asUser != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// stop stops the server and removes its files.
func (c *tempCluster) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.command(ctx, c.pgCtl, "-D", filepath.Join(c.dir, "data"), "-m", "fast", "stop").CombinedOutput()
	if rmErr := os.RemoveAll(c.dir); err == nil && rmErr != nil {
		return fmt.Errorf("removing the demo database: %w", rmErr)
	}
	if err != nil {
		return fmt.Errorf("stopping the demo database: %w: %s", err, out)
	}
	return nil
}

// freePort returns a loopback TCP port nobody listens on just now.
func freePort(ctx context.Context) (int, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("finding a free port: not a TCP address")
	}
	return addr.Port, nil
}
