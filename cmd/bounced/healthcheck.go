package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/bounced/bounced/config"
)

// runHealthcheck implements `bounced healthcheck`: GET /healthz (or /readyz
// with -ready) of a running `bounced run` on this host, exit 0 when it
// answers 200 and 1 otherwise. It is the container's HEALTHCHECK: the
// distroless image has no shell, curl or wget.
func runHealthcheck(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "healthcheck", "", "Asks a running `bounced run` on this host whether it is up (/healthz) or,\nwith -ready, ready (/readyz): exit 0 for a 200, else 1. The address is -url,\nelse -listen, else the configuration's listen.")
	path := configFlag(fs)
	listen := fs.String("listen", "", "address `bounced run` listens on (default from the configuration)")
	url := fs.String("url", "", "URL to ask instead (http://127.0.0.1:8080/healthz)")
	ready := fs.Bool("ready", false, "ask /readyz: fail while a mailbox's latest pass failed")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	target := *url
	if target == "" {
		addr := *listen
		if addr == "" {
			cfg, err := config.Load(*path)
			if cfg == nil {
				fmt.Fprintf(e.stderr, "bounced healthcheck: reading the configuration for its listen address: %v\n", err)
				return 1
			}
			addr = cfg.Listen
		}
		endpoint := "/healthz"
		if *ready {
			endpoint = "/readyz"
		}
		var err error
		if target, err = localURL(addr, endpoint); err != nil {
			fmt.Fprintf(e.stderr, "bounced healthcheck: %v\n", err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced healthcheck: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)) // what the server said, for the health log
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "bounced healthcheck: %s answered %s: %s\n", target, resp.Status, body)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s", body)
	return 0
}

// localURL returns the URL of endpoint on a listen address, asking the
// loopback address where the server listens on every interface (":8080",
// "0.0.0.0:8080", "[::]:8080").
func localURL(listen, endpoint string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + endpoint, nil
}
