package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// benchSenders is how many deliveries arrive at once, as from 16
// concurrent senders.
const benchSenders = 16

// BenchmarkIngest measures the webhook receiver's critical path with 16
// concurrent senders: record the delivery and enqueue its job, committed
// before Ingest returns (no worker running). It then inserts the same
// event rows bare, one transaction per delivery with the same durability,
// no job, no user_sync and no batching, from the same senders, and reports
// the ratio (x-bare): what the whole path achieves against one committed
// row on this machine at this moment.
func BenchmarkIngest(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := databasetest.Open(b, d)
			s := newService(b, testConfig(db, newFakePermit()), false)
			type delivered struct {
				body []byte
				ev   webhook.Event
			}
			in := make([]delivered, b.N)
			now := time.Now()
			for i := range in {
				body, ev := delivery(b, webhook.EventUserCreated, fmt.Sprintf("bench%07d", i), "b@example.com", "B", now)
				in[i] = delivered{body, ev}
			}
			b.ResetTimer()
			rate, p99 := runSenders(b, func(ctx context.Context, i int) error {
				_, err := s.Ingest(ctx, in[i].body, in[i].ev)
				return err
			})
			b.StopTimer()
			payload, err := webhook.Sanitize(in[0].body)
			if err != nil {
				b.Fatal(err)
			}
			bare := bareInserts(b, db, in[0].ev, payload, now)
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(p99, "p99-ms")
			b.ReportMetric(bare, "bare-events/s")
			b.ReportMetric(rate/bare, "x-bare")
		})
	}
}

// bareInserts inserts b.N event rows like ev's (payload is its stored
// copy), each in its own transaction, from benchSenders goroutines, and
// returns rows/s.
func bareInserts(b *testing.B, db *database.DB, ev webhook.Event, payload []byte, now time.Time) float64 {
	b.Helper()
	hashes := make([]string, b.N)
	for i := range hashes {
		sum := sha256.Sum256(fmt.Appendf(nil, "bare %d", i))
		hashes[i] = hex.EncodeToString(sum[:])
	}
	rate, _ := runSenders(b, func(ctx context.Context, i int) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_events
			(delivery_hash, event, user_id, outcome, received_at, event_created_at, payload)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (delivery_hash) DO NOTHING`,
			hashes[i], ev.Name, ev.UserID, string(OutcomeAccepted), now.UnixMilli(), ev.CreatedAt.UnixMilli(), string(payload)); err != nil {
			return err
		}
		return tx.Commit()
	})
	return rate
}

// runSenders calls send(ctx, i) for every i < b.N from benchSenders
// goroutines and returns calls/s and the p99 latency of one call in ms.
func runSenders(b *testing.B, send func(ctx context.Context, i int) error) (rate, p99 float64) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	lats := make([][]time.Duration, benchSenders)
	errs := make([]error, benchSenders)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range benchSenders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := send(ctx, i); err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	lat := slices.Concat(lats...)
	slices.Sort(lat)
	return float64(b.N) / elapsed.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
}
