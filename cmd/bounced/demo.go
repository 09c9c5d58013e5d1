package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/imapwatch"
	"github.com/bounced/bounced/internal/pgtemp"
	"github.com/bounced/bounced/store"
)

// demoMessages are the sample bounces the demo mailbox starts with: real
// formats (Postfix, Exim, Sendmail, qmail, Gmail, Microsoft 365, ARF, an
// auto-reply, a newsletter that is no bounce), written for this project.
//
//go:embed demodata/*.eml
var demoMessages embed.FS

const (
	demoUser        = "bounces@demo.example"
	demoPasswordEnv = "BOUNCED_DEMO_IMAP_PASSWORD"
)

// runDemo runs the main job, one pass over a mailbox, against an in-process
// IMAP server holding the embedded sample bounces. Results go to PostgreSQL
// when a database is named, else they are kept in memory and printed.
func runDemo(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "demo", "", "Run the main job on an embedded default: an in-process IMAP server holding\n"+
		"sample bounces from many MTAs is polled once; every message is fetched,\n"+
		"parsed, classified and recorded, then moved to Processed or Unrecognized.\n"+
		"With a database (--database-url or DATABASE_URL) the records go to PostgreSQL\n"+
		"(the schema is migrated first) and the suppression list is printed; without\n"+
		"one they are kept in memory and printed.\n\n"+
		"With --serve (the default when stdin is a terminal) the demo then serves the\n"+
		"status page for its data on --listen until Ctrl-C, signed in with a token it\n"+
		"prints. Without a database it starts a throw-away PostgreSQL for that where\n"+
		"PostgreSQL's initdb is installed (removed when the demo ends).")
	dbURL := databaseFlag(fs)
	serve := fs.Bool("serve", interactive(e.stdin), "store the results and serve the status page until Ctrl-C (default: when stdin is a terminal)")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the status page with --serve")
	if _, code, stop := parseFlags(fs, args, 0); stop {
		return code
	}
	if *dbURL == "" {
		*dbURL = os.Getenv("DATABASE_URL")
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *dbURL == "" && *serve {
		cluster, err := demoCluster(ctx, e)
		if err != nil {
			fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
			return 1
		}
		if cluster != nil {
			defer func() {
				if err := cluster.Stop(); err != nil {
					fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
				}
			}()
			*dbURL = cluster.URL
		}
	}

	srv, err := startDemoServer(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
		return 1
	}
	defer srv.close()

	mem := &memoryRecorder{}
	var rec imapwatch.Recorder = mem
	var st *store.Store
	if *dbURL != "" {
		var code int
		st, code = openStore(ctx, e, "demo", *dbURL, false)
		if st == nil {
			return code
		}
		defer st.Close()
		if _, err := st.Migrate(ctx); err != nil {
			fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
			return 1
		}
		if err := st.SyncReasonTexts(ctx, reasonTexts()); err != nil {
			fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
			return 1
		}
		rec = teeRecorder{Recorder: st, also: mem}
	}

	mailbox := config.Mailbox{
		Name:        "demo",
		Address:     srv.addr,
		TLS:         config.TLSNone, // loopback only
		Username:    demoUser,
		Auth:        config.AuthLogin,
		Password:    config.SecretSource{Env: demoPasswordEnv},
		Folder:      "INBOX",
		Disposition: config.DispositionMove,
		BatchSize:   5,
	}
	mailbox.ProcessedFolder, mailbox.UnrecognizedFolder = "Processed", "Unrecognized"
	watcher := imapwatch.New(mailbox, rec, imapwatch.Options{Logger: logger})
	stats, err := watcher.Pass(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
		return 1
	}

	mem.print(e)
	fmt.Fprintf(e.stdout, "\n%d messages in %d batches: %d recorded as bounces, complaints or replies, %d kept as unrecognized.\n",
		stats.Messages, stats.Batches, stats.Processed, stats.Unrecognized+stats.Failed)
	folders, err := srv.folderCounts()
	if err != nil {
		fmt.Fprintf(e.stderr, "bounced demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "Mailbox after the pass: INBOX %d, Processed %d, Unrecognized %d.\n",
		folders["INBOX"], folders["Processed"], folders["Unrecognized"])
	if st == nil {
		fmt.Fprintln(e.stdout, "\nNo database named: nothing was stored. Set DATABASE_URL (or --database-url) to record")
		fmt.Fprintln(e.stdout, "suppressions and reputation in PostgreSQL, then try `bounced report`.")
		return 0
	}
	fmt.Fprintln(e.stdout, "\nSuppression list in PostgreSQL:")
	if code := runSuppressions(ctx, e, []string{"list", "--database-url", *dbURL}); code != 0 || !*serve {
		return code
	}
	return serveDemo(ctx, e, st, *listen, watcherStatus{watcher}, demoServing)
}

// demoServing, when set (by tests), is told where the demo serves its
// status page and with which token.
var demoServing func(addr, token string)

// demoCluster starts a throw-away PostgreSQL for a demo without a
// database, or returns nil (and says why) where PostgreSQL is not
// installed: the demo then keeps its results in memory.
func demoCluster(ctx context.Context, e env) (*pgtemp.Cluster, error) {
	bin := pgtemp.Bin()
	if bin == "" {
		fmt.Fprintln(e.stderr, "bounced demo: no database named and PostgreSQL is not installed (no initdb): the results are printed, not served")
		return nil, nil
	}
	fmt.Fprintf(e.stdout, "Starting a throw-away PostgreSQL (%s) for the demo...\n", bin)
	c, err := pgtemp.Start(ctx, pgtemp.Options{DirPrefix: "bounced-demo-pg-"})
	if err != nil {
		return nil, fmt.Errorf("starting the demo database: %w", err)
	}
	return c, nil
}

// demoServer is go-imap's in-process server on a loopback port, with one
// user whose INBOX holds the sample bounces.
type demoServer struct {
	addr     string
	password string
	ln       net.Listener
	srv      *imapserver.Server
}

func startDemoServer(ctx context.Context) (*demoServer, error) {
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("making the demo password: %w", err)
	}
	password := hex.EncodeToString(secret)
	// The watcher reads its password from the environment, as in production.
	if err := os.Setenv(demoPasswordEnv, password); err != nil {
		return nil, fmt.Errorf("setting the demo password: %w", err)
	}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(demoUser, password)
	if err := user.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("creating the demo INBOX: %w", err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // plaintext on loopback only
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the demo IMAP server: %w", err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	d := &demoServer{addr: ln.Addr().String(), password: password, ln: ln, srv: srv}
	if err := d.load(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// load appends the embedded sample messages to INBOX.
func (d *demoServer) load() error {
	c, err := d.login()
	if err != nil {
		return err
	}
	defer c.Close()
	names, err := fs.Glob(demoMessages, "demodata/*.eml")
	if err != nil {
		return fmt.Errorf("listing the demo messages: %w", err)
	}
	for _, name := range names {
		data, err := demoMessages.ReadFile(name)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		cmd := c.Append("INBOX", int64(len(data)), &imap.AppendOptions{Time: time.Now()})
		if _, err := cmd.Write(data); err != nil {
			return fmt.Errorf("appending %s: %w", name, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("appending %s: %w", name, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("appending %s: %w", name, err)
		}
	}
	return nil
}

func (d *demoServer) login() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(d.addr, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to the demo IMAP server: %w", err)
	}
	if err := c.Login(demoUser, d.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("logging in to the demo IMAP server: %w", err)
	}
	return c, nil
}

// folderCounts returns the number of messages in each folder.
func (d *demoServer) folderCounts() (map[string]uint32, error) {
	c, err := d.login()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	counts := make(map[string]uint32)
	for _, folder := range []string{"INBOX", "Processed", "Unrecognized"} {
		data, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			continue // a folder the pass had no reason to create
		}
		if data.NumMessages != nil {
			counts[folder] = *data.NumMessages
		}
	}
	return counts, nil
}

func (d *demoServer) close() {
	d.ln.Close()
	d.srv.Close()
}

// memoryRecorder keeps what the demo records in memory. It is the Recorder
// of a demo without a database, and shows what a pass records either way.
type memoryRecorder struct {
	mu       sync.Mutex
	messages []store.Message
	seen     map[[32]byte]bool
	cp       store.Checkpoint
}

func (m *memoryRecorder) Checkpoint(ctx context.Context, mailbox string) (store.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp.Mailbox != mailbox {
		return store.Checkpoint{Mailbox: mailbox}, nil
	}
	return m.cp, nil
}

func (m *memoryRecorder) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = make(map[[32]byte]bool)
	}
	var res store.BatchResult
	for _, msg := range b.Messages {
		if m.seen[msg.ContentHash] {
			res.Duplicates++
			res.DuplicateUIDs = append(res.DuplicateUIDs, msg.UID)
			continue
		}
		m.seen[msg.ContentHash] = true
		m.messages = append(m.messages, msg)
		res.Messages++
	}
	m.cp = store.Checkpoint{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, LastUID: max(m.cp.LastUID, b.LastUID)}
	return res, nil
}

// print writes one line per recipient result, in UID order.
func (m *memoryRecorder) print(e env) {
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs := append([]store.Message(nil), m.messages...)
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tKIND\tRECIPIENT\tSTATUS\tREASON\tWHO ACTS\tVERDICT")
	for _, msg := range msgs {
		if msg.Report == nil {
			fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\t-\t%s\n", msg.UID, msg.Outcome, msg.Error)
			continue
		}
		for _, r := range msg.Report.Results() {
			status := r.Status
			if r.StatusInferred {
				status += "*"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", msg.UID, r.Kind, orDash(r.Recipient), orDash(status), r.Reason, r.Scope, r.Verdict)
		}
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "(* status inferred from the reply code and text; `bounced explain REASON` says what to do)")
}

// teeRecorder records in a store and shows the same batches to a memory
// recorder, so the demo can print what it stored.
type teeRecorder struct {
	imapwatch.Recorder
	also *memoryRecorder
}

func (t teeRecorder) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	res, err := t.Recorder.WriteBatch(ctx, b)
	if err != nil {
		return res, err
	}
	_, err = t.also.WriteBatch(ctx, b) // memory: cannot fail
	return res, err
}
