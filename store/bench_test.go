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
// messages of one recipient each: 40% permanent failures on fresh addresses,
// 40% soft bounces on a pool of 5,000 addresses (so counting and soft
// suppressions happen), 15% sender-side failures, 5% auto-replies. It
// reports events/s. Run it with:
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench WriteBatch -benchtime 20x ./store/
func BenchmarkWriteBatch(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := newTestStore(b)
			ctx := context.Background()
			base := time.Now().UTC().Add(-time.Hour)
			uid := uint32(0)
			next := func() Batch {
				batch := Batch{Mailbox: "INBOX", UIDValidity: 1, Messages: make([]Message, 0, size)}
				for range size {
					uid++
					var r rcpt
					switch n := uid % 20; {
					case n < 8:
						r = rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonUserUnknown}
					case n < 16:
						k := uid % 5000
						r = rcpt{fmt.Sprintf("soft%d@host%d.example", k, k%97), dsn.ReasonMailboxFull}
					case n < 19:
						r = rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonBlocklisted}
					default:
						r = rcpt{fmt.Sprintf("user%d@host%d.example", uid, uid%97), dsn.ReasonAutoReply}
					}
					m := msg(uid, "", base.Add(time.Duration(uid)*time.Millisecond), r)
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
		})
	}
}
