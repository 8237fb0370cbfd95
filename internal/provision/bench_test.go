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
// before Ingest returns (no worker running). BenchmarkIngestBareInsert is
// the floor to compare it with.
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
			runSenders(b, func(ctx context.Context, i int) error {
				_, err := s.Ingest(ctx, in[i].body, in[i].ev)
				return err
			})
		})
	}
}

// BenchmarkIngestBareInsert inserts the same event row as Ingest, one
// transaction per delivery with the same durability, from the same 16
// senders, with no job, no user_sync and no batching: what one committed
// row costs on this machine.
func BenchmarkIngestBareInsert(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := databasetest.Open(b, d)
			type row struct {
				hash    string
				ev      webhook.Event
				payload []byte
			}
			in := make([]row, b.N)
			now := time.Now()
			for i := range in {
				body, ev := delivery(b, webhook.EventUserCreated, fmt.Sprintf("bench%07d", i), "b@example.com", "B", now)
				sum := sha256.Sum256(body)
				payload, err := webhook.Sanitize(body)
				if err != nil {
					b.Fatal(err)
				}
				in[i] = row{hex.EncodeToString(sum[:]), ev, payload}
			}
			runSenders(b, func(ctx context.Context, i int) error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				r := in[i]
				if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_events
					(delivery_hash, event, user_id, outcome, received_at, event_created_at, payload)
					VALUES ($1, $2, $3, $4, $5, $6, $7)
					ON CONFLICT (delivery_hash) DO NOTHING`,
					r.hash, r.ev.Name, r.ev.UserID, string(OutcomeAccepted), now.UnixMilli(), r.ev.CreatedAt.UnixMilli(), string(r.payload)); err != nil {
					return err
				}
				return tx.Commit()
			})
		})
	}
}

// runSenders calls send(ctx, i) for every i < b.N from benchSenders
// goroutines and reports events/s and the p99 latency of one call.
func runSenders(b *testing.B, send func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	lats := make([][]time.Duration, benchSenders)
	errs := make([]error, benchSenders)
	var wg sync.WaitGroup
	b.ResetTimer()
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
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	lat := slices.Concat(lats...)
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
