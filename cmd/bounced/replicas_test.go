package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestE2ETwoReplicasShareTheMailboxes is the "done when": two
// `bounced run` processes against one database and 20 mailboxes with a
// backlog each process between a third and two thirds of the messages, use
// together no more PostgreSQL sessions than their configuration allows
// (db_max_conns each), and do no work twice.
func TestE2ETwoReplicasShareTheMailboxes(t *testing.T) {
	d := requireDovecot(t)
	bin := filepath.Join(t.TempDir(), "bounced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := migratedDatabase(t)
	c := d.client(t)

	const mailboxes, per, maxConns = 20, 30, 3
	var sections strings.Builder
	for i := range mailboxes {
		folder := newFolder(t, d, c, fmt.Sprintf("replicas%02d", i))
		var msgs [][]byte
		for j := range per {
			msgs = append(msgs, simpleDSN(fmt.Sprintf("user%d-%d@example.org", i, j), fmt.Sprintf("%d.%d", i, j)))
		}
		appendAll(t, c, folder, msgs)
		fmt.Fprintf(&sections, `
[mailbox m%02d]
address = %s
tls = implicit
ca_file = %s
username = %s
password_env = %s
folder = %s
schedule = @every 1h
processed_folder = %s-Processed
unrecognized_folder = %s-Unrecognized
`, i, d.tlsAddr, d.ca, d.user, e2ePasswordEnv, folder, folder, folder)
	}

	names := []string{"east", "west"}
	var procs []*exec.Cmd
	var logs []*syncBuffer
	for _, name := range names {
		cfg := filepath.Join(t.TempDir(), name+".conf")
		text := fmt.Sprintf("replica = %s\ndb_max_conns = %d\nmax_parallel_mailboxes = 4\ntakeover_after = 4s\nlisten = 127.0.0.1:0\n%s",
			name, maxConns, sections.String())
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "-config", cfg)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db, e2ePasswordEnv+"="+d.password)
		log := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		procs = append(procs, cmd)
		logs = append(logs, log)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	peak := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var sessions, recorded int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name LIKE 'bounced %'`).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, sessions)
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM processed_messages`).Scan(&recorded); err != nil {
			t.Fatal(err)
		}
		if recorded == mailboxes*per {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes %d of %d messages are recorded\neast:\n%s\nwest:\n%s", recorded, mailboxes*per,
				lastLines(logs[0].String(), 20), lastLines(logs[1].String(), 20))
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, p := range procs {
		if err := p.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Errorf("replica %s: %v\n%s", names[i], err, lastLines(logs[i].String(), 20))
		}
	}

	rows, err := conn.Query(ctx, `SELECT replica, count(*) FROM processed_messages GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		by[r] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded by replica %v; peak PostgreSQL sessions of both %d", by, peak)
	total := mailboxes * per
	for _, name := range names {
		if n := by[name]; 3*n < total || 3*n > 2*total {
			t.Errorf("replica %s recorded %d of %d messages, want between a third and two thirds", name, n, total)
		}
	}
	if peak > 2*maxConns {
		t.Errorf("the two replicas used %d PostgreSQL sessions together, their configuration allows %d", peak, 2*maxConns)
	}
	if peak == 0 {
		t.Error("no session of either replica was seen: the count is not measuring")
	}
	dup := regexp.MustCompile(`stats\.duplicates=([1-9][0-9]*)`)
	for i, l := range logs {
		if m := dup.FindString(l.String()); m != "" {
			t.Errorf("replica %s found work already done (%s)", names[i], m)
		}
		if !strings.Contains(l.String(), "pass done") {
			t.Errorf("replica %s logged no pass:\n%s", names[i], lastLines(l.String(), 20))
		}
	}
}
