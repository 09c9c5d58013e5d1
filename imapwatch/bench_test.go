package imapwatch

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/store"
)

// TestDovecotThroughput measures a pass against Dovecot beside a fetch-only
// pass over the same mailbox. It runs only when BOUNCED_BENCH_N is set:
//
//	. .ci/dovecot.sh
//	BOUNCED_BENCH_N=20000 go test ./imapwatch -run TestDovecotThroughput -v -count=1
//
// With BOUNCED_BENCH_FILL=FOLDER it only appends the N generated bounces to
// FOLDER (for `bounced once` against PostgreSQL, see the README) and stops.
// The pass here uses the real parser and a counting in-memory recorder, so
// it measures imapwatch itself; the end-to-end figure with PostgreSQL comes
// from `bounced once`.
func TestDovecotThroughput(t *testing.T) {
	nText := os.Getenv("BOUNCED_BENCH_N")
	if nText == "" {
		t.Skip("BOUNCED_BENCH_N unset")
	}
	n, err := strconv.Atoi(nText)
	if err != nil || n <= 0 {
		t.Fatalf("BOUNCED_BENCH_N=%q is not a positive number", nText)
	}
	d := requireDovecot(t)
	folder := os.Getenv("BOUNCED_BENCH_FILL")
	fillOnly := folder != ""
	if !fillOnly {
		folder = uniqueFolder("bench")
	}
	c := d.client(t, "")
	c.Create(folder, nil).Wait() // may exist already when filling
	start := time.Now()
	appendPipelined(t, c, folder, n)
	t.Logf("stored %d generated bounces in %s in %s", n, folder, time.Since(start).Round(time.Millisecond))
	// Let Dovecot index the new messages before anything is timed.
	if got := stateOf(t, c, folder).Messages; got < n {
		t.Fatalf("%s holds %d messages, want at least %d", folder, got, n)
	}
	if fillOnly {
		return
	}

	m := d.mailbox(t, folder)
	m.BatchSize = 500
	if v := os.Getenv("BOUNCED_BENCH_BATCH"); v != "" {
		if m.BatchSize, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	if v := os.Getenv("BOUNCED_BENCH_DISPOSITION"); v != "" {
		m.Disposition = config.Disposition(v)
	}
	m.MaxSize = config.DefaultMaxSize
	ctx := context.Background()

	fetchSt, fetchPeak := measure(t, func() (Stats, error) {
		return New(m, nil, Options{FetchOnly: true}).Pass(ctx)
	})
	rec := &benchRecorder{seen: map[[32]byte]bool{}}
	passSt, passPeak := measure(t, func() (Stats, error) {
		return New(m, rec, Options{Parse: dsn.Parse}).Pass(ctx)
	})
	if fetchSt.Messages != n || passSt.Messages != n {
		t.Fatalf("fetched %d and passed %d messages, want %d each", fetchSt.Messages, passSt.Messages, n)
	}
	fetchRate := float64(n) / fetchSt.Duration.Seconds()
	passRate := float64(n) / passSt.Duration.Seconds()
	t.Logf("fetch-only: %d messages in %s: %.0f msg/s, peak heap %.1f MiB", n, fetchSt.Duration.Round(time.Millisecond), fetchRate, fetchPeak)
	t.Logf("pass (parse, in-memory recorder, %s): %d messages in %s: %.0f msg/s, peak heap %.1f MiB", m.Disposition, n, passSt.Duration.Round(time.Millisecond), passRate, passPeak)
	t.Logf("pass / fetch-only = %.0f %%", 100*passRate/fetchRate)
	if passPeak > 100 {
		t.Errorf("peak heap %.1f MiB, above the 100 MiB bar", passPeak)
	}
}

// measure runs f, sampling the heap, and returns its stats and the peak heap
// in MiB.
func measure(t *testing.T, f func() (Stats, error)) (Stats, float64) {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	st, err := f()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return st, float64(peak.Load()) / (1 << 20)
}

// benchRecorder keeps only what the ledger would: content hashes.
type benchRecorder struct {
	mu   sync.Mutex
	seen map[[32]byte]bool
	cp   store.Checkpoint
}

func (r *benchRecorder) Checkpoint(ctx context.Context, mailbox string) (store.Checkpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cp, nil
}

func (r *benchRecorder) WriteBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res store.BatchResult
	for _, m := range b.Messages {
		if r.seen[m.ContentHash] {
			res.Duplicates++
			continue
		}
		r.seen[m.ContentHash] = true
		res.Messages++
	}
	r.cp = store.Checkpoint{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, LastUID: b.LastUID}
	return res, nil
}

// appendPipelined appends n generated DSNs, keeping up to 200 APPENDs in
// flight (Dovecot has LITERAL+, so no continuation is awaited).
func appendPipelined(t *testing.T, c *imapclient.Client, folder string, n int) {
	var pending []*imapclient.AppendCommand
	flush := func() {
		for _, cmd := range pending {
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("appending: %v", err)
			}
		}
		pending = pending[:0]
	}
	for i := range n {
		msg := generatedDSN(i)
		cmd := c.Append(folder, int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			t.Fatalf("appending: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("appending: %v", err)
		}
		pending = append(pending, cmd)
		if len(pending) == 200 {
			flush()
		}
	}
	flush()
}

// generatedDSN returns the i-th of a family of realistic RFC 3464 bounces
// (about 1.5 KB each) with varied reasons and recipients.
func generatedDSN(i int) []byte {
	reasons := []struct{ status, diag string }{
		{"5.1.1", "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table"},
		{"5.2.2", "552 5.2.2 <%s>: Mailbox full, quota exceeded"},
		{"5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; %s"},
		{"4.4.7", "Delivery to <%s> expired after 5 days: connection timed out"},
	}
	r := reasons[i%len(reasons)]
	rcpt := fmt.Sprintf("user%d@example%d.net", i, i%97)
	diag := fmt.Sprintf(r.diag, rcpt)
	action := "failed"
	if r.status[0] == '4' {
		action = "delayed"
	}
	return fmt.Appendf(nil, `Return-Path: <>
Date: Thu, 26 Nov 2026 10:%02d:%02d +0000
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: bounces+%d@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <bench-%d@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B%d"

--B%d
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<%s>: host mx.example%d.net[192.0.2.%d] said: %s

--B%d
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4F%06X
Arrival-Date: Thu, 26 Nov 2026 10:00:00 +0000

Final-Recipient: rfc822; %s
Original-Recipient: rfc822;%s
Action: %s
Status: %s
Remote-MTA: dns; mx.example%d.net
Diagnostic-Code: smtp; %s

--B%d
Content-Type: text/rfc822-headers

Return-Path: <bounces+%d@example.com>
From: Newsletter <news@example.com>
To: <%s>
Subject: Our November newsletter
Message-ID: <campaign-42-%d@example.com>
X-Campaign-Id: 42
X-Mailer-Recipient: %d
List-Id: <news.example.com>
Date: Thu, 26 Nov 2026 09:00:00 +0000

--B%d--
`, (i/60)%60, i%60, i, i, i, i, rcpt, i%97, i%250, diag, i, i, rcpt, rcpt, action, r.status, i%97, diag, i, i, rcpt, i, i, i)
}
