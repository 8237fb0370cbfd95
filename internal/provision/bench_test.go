package provision

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// BenchmarkIngest measures the webhook receiver's critical path: record
// the delivery and enqueue its job in one transaction (no worker running).
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
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range in {
				t0 := time.Now()
				if _, err := s.Ingest(ctx, in[i].body, in[i].ev); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
