package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkSignUpToPermitted measures, over many sign-ups against `dev`
// (SQLite, stand-ins), the time from submitting the registration form to
// the reports page showing the report: hosted sign-up, Logto's webhooks,
// the durable job, the Permit writes and the PDP seeing them.
func BenchmarkSignUpToPermitted(b *testing.B) {
	// Every iteration signs up from one address; the per-client limit on
	// the sign-in routes would turn the benchmark into a 429 count.
	d := startDevEnv(b, map[string]string{"REPORTGATE_RATE_LIMIT": "0"}, b.TempDir())
	var took []time.Duration
	i := 0
	for b.Loop() {
		i++
		p := newPerson(b)
		start := time.Now()
		if !p.signUp(d, "Bench Person", fmt.Sprintf("bench%d@example.com", i)).has("user-name") {
			b.Fatal("sign-up failed")
		}
		for {
			pg := p.get(d.appURL + "/reports")
			if pg.status == http.StatusOK && pg.has("report") {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatal("never permitted")
			}
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	n := len(took)
	b.ReportMetric(float64(took[n/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(took[(n*99)/100].Milliseconds()), "p99-ms")
}
