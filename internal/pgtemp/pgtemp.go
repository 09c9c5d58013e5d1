// Package pgtemp starts a throw-away PostgreSQL cluster: a fresh data
// directory in a temporary folder, trust authentication, fsync off, on a
// free loopback port, removed again by Stop. The demo uses it when no
// database is named, and the tests when TEST_DATABASE_URL is unset.
package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// ErrNotInstalled means PostgreSQL's initdb is neither on the PATH nor in
// Debian's /usr/lib/postgresql/VERSION/bin.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (no initdb)")

// Bin returns the directory of initdb and pg_ctl: the one on the PATH, else
// the newest of Debian's /usr/lib/postgresql/VERSION/bin; "" when
// PostgreSQL is not installed.
func Bin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return ""
	}
	version := func(path string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
		return v
	}
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	return filepath.Dir(found[len(found)-1])
}

// Options tune a cluster; the zero value takes PostgreSQL's defaults.
type Options struct {
	// DirPrefix names the temporary directory (os.MkdirTemp's pattern).
	DirPrefix string
	// MaxConnections sets max_connections when above 0.
	MaxConnections int
}

// Cluster is a running throw-away cluster.
type Cluster struct {
	// URL reaches the cluster as the superuser postgres, without TLS.
	URL  string
	Bin  string // the directory of initdb and pg_ctl used
	dir  string
	cred *syscall.Credential // the postgres user when we are root, else nil
}

// Start initialises and starts a cluster with the programs of Bin. As root
// it runs them as the postgres user, since PostgreSQL refuses to run as
// root. It returns ErrNotInstalled when there is no initdb. The caller must
// call Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin := Bin()
	if bin == "" {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", opts.DirPrefix)
	if err != nil {
		return nil, fmt.Errorf("making the cluster's directory: %w", err)
	}
	c := &Cluster{Bin: bin, dir: dir}
	if err := c.start(ctx, opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opts Options) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("PostgreSQL does not run as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("handing the cluster's directory to postgres: %w", err)
		}
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	port, err := FreePort(ctx)
	if err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	if err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	serverOpts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, c.dir)
	if opts.MaxConnections > 0 {
		serverOpts += fmt.Sprintf(" -c max_connections=%d", opts.MaxConnections)
	}
	if err := c.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "server.log"), "-w", "-o", serverOpts, "start"); err != nil {
		return err
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// run runs one of PostgreSQL's programs as the cluster's user.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// Stop stops the server (fast shutdown: sessions still open are ended) and
// removes its files.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "stop")
	if rmErr := os.RemoveAll(c.dir); err == nil && rmErr != nil {
		return fmt.Errorf("removing the cluster: %w", rmErr)
	}
	if err != nil {
		return fmt.Errorf("stopping the cluster: %w", err)
	}
	return nil
}

// FreePort returns a TCP port that nobody listens on at 127.0.0.1 just now.
func FreePort(ctx context.Context) (int, error) {
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
