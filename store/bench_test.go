package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/bounced/bounced/dsn"
)

// BenchmarkWriteBatch measures WriteBatch with batches of 100 and 1,000
// messages of one recipient each, and reports events/s. Two mixes:
//
//   - typical: 50% permanent failures on new addresses, 30% soft bounces
//     (each soft-bouncing address bounces three times, batches apart, and is
//     suppressed on the third), 15% sender-side failures, 5% auto-replies;
//   - renewals: 40% permanent failures, 40% soft bounces on 5,000 addresses
//     that keep bouncing, so most soft bounces renew a suppression in force
//     (the most writes per event), 15% sender-side, 5% auto-replies.
//
// Run it with:
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench WriteBatch -benchtime 100x ./store/
func BenchmarkWriteBatch(b *testing.B) {
	for _, mix := range []string{"typical", "renewals"} {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", mix, size), func(b *testing.B) {
				benchmarkWriteBatch(b, mix, size)
			})
		}
	}
}

func benchmarkWriteBatch(b *testing.B, mix string, size int) {
	s := newTestStore(b)
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour)
	var uid, softSeq uint32
	recipient := func() rcpt {
		n := uid % 20
		if mix == "renewals" {
			switch {
			case n < 8:
				return rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonUserUnknown}
			case n < 16:
				k := uid % 5000
				return rcpt{fmt.Sprintf("soft%d@host%d.example", k, k%97), dsn.ReasonMailboxFull}
			}
		} else {
			switch {
			case n < 10:
				return rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonUserUnknown}
			case n < 16:
				// Addresses 0-2999 take soft bounces 0-8999, three each,
				// 3,000 soft bounces apart; then 3000-5999, and so on.
				softSeq++
				k := softSeq%3000 + softSeq/9000*3000
				return rcpt{fmt.Sprintf("soft%d@host%d.example", k, k%97), dsn.ReasonMailboxFull}
			}
		}
		if n < 19 {
			return rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonBlocklisted}
		}
		return rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonAutoReply}
	}
	next := func() Batch {
		batch := Batch{Mailbox: "INBOX", UIDValidity: 1, Messages: make([]Message, 0, size)}
		for range size {
			uid++
			m := msg(uid, "", base.Add(time.Duration(uid)*time.Millisecond), recipient())
			var seed [4]byte
			binary.BigEndian.PutUint32(seed[:], uid)
			m.ContentHash = sha256.Sum256(append([]byte(base.String()), seed[:]...))
			batch.Messages = append(batch.Messages, m)
		}
		batch.LastUID = uid
		return batch
	}

	// All batches are made before the clock starts: only WriteBatch is timed.
	batches := make([]Batch, b.N)
	for i := range batches {
		batches[i] = next()
	}
	b.ResetTimer()
	events := 0
	for i := range b.N {
		res, err := s.WriteBatch(ctx, batches[i])
		if err != nil {
			b.Fatal(err)
		}
		if res.Events != size {
			b.Fatalf("wrote %d events, want %d", res.Events, size)
		}
		events += res.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
