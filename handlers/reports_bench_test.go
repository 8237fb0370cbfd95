package handlers_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkReportsPage measures GET /reports for a signed-in analyst
// against the Permit stand-in, with the decision cache warm and off.
// Reported: req/s, p50/p99 latency and PDP calls per page view.
func BenchmarkReportsPage(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"cache-warm", time.Hour}, {"cache-off", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOptions{decisionTTL: bc.ttl})
			br := e.browser()
			br.signIn(e, "", "analyst@example.com", "demo-password")
			if p := br.get(e.app.URL + "/reports"); p.Status != http.StatusOK {
				b.Fatalf("status %d", p.Status)
			}
			before := e.permit.Counts()
			var durations []time.Duration
			start := time.Now()
			for b.Loop() {
				t0 := time.Now()
				// A fresh request each time: the jar adds its cookies to it.
				req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/reports", nil)
				resp, err := br.client.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET /reports: %v", err)
				}
				resp.Body.Close()
				durations = append(durations, time.Since(t0))
			}
			elapsed := time.Since(start)
			after := e.permit.Counts()
			calls := (after.Allowed + after.Bulk + after.UserPermissions) - (before.Allowed + before.Bulk + before.UserPermissions)
			slices.Sort(durations)
			n := len(durations)
			b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(durations[n/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(durations[n*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(calls)/float64(n), "pdp-calls/view")
		})
	}
}
