package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/loadtest"
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
		if !p.signUp(d, "Bench Person", fmt.Sprintf("bench%d@example.com", i)).Has("user-name") {
			b.Fatal("sign-up failed")
		}
		for {
			pg := p.get(d.appURL + "/reports")
			if pg.Status == http.StatusOK && pg.Has("report") {
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

// BenchmarkReportsVsHealthz serves the real app over loopback and drives
// /healthz, then /reports as a signed-in analyst with a warm decision
// cache, each at 32 concurrent connections for 2 s, on SQLite and (when
// REPORTGATE_TEST_POSTGRES_URL is set) PostgreSQL. The ratio of the two
// throughputs in one run is the figure to compare: the machine's load
// moves both.
func BenchmarkReportsVsHealthz(b *testing.B) {
	const conns, span = 32, 2 * time.Second
	run := func(b *testing.B, appURL string, p *person) {
		if pg := p.get(appURL + "/reports"); pg.Status != http.StatusOK || !pg.Has("report") {
			b.Fatalf("reports: status %d", pg.Status)
		}
		for b.Loop() {
			health := drive(b, p, appURL+"/healthz", conns, span)
			report := drive(b, p, appURL+"/reports", conns, span)
			b.ReportMetric(health.rate, "healthz-req/s")
			b.ReportMetric(report.rate, "reports-req/s")
			b.ReportMetric(float64(health.p50.Microseconds()), "healthz-p50-µs")
			b.ReportMetric(float64(health.p99.Microseconds()), "healthz-p99-µs")
			b.ReportMetric(float64(report.p50.Microseconds()), "reports-p50-µs")
			b.ReportMetric(float64(report.p99.Microseconds()), "reports-p99-µs")
			b.ReportMetric(report.rate/health.rate, "reports/healthz")
		}
	}
	b.Run("sqlite", func(b *testing.B) {
		d := startDev(b, b.TempDir())
		p := newPerson(b)
		p.signIn(d, "analyst@example.com")
		run(b, d.appURL, p)
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv("REPORTGATE_TEST_POSTGRES_URL") == "" {
			b.Skip("REPORTGATE_TEST_POSTGRES_URL not set")
		}
		pgURL := databasetest.OpenURL(b, database.Postgres)
		b.Chdir(b.TempDir())
		addr := freeAddr(b)
		env := startDevstack(b, "http://"+addr+"/webhooks/logto")
		env["REPORTGATE_DATABASE_URL"] = pgURL
		startReplica(b, env, addr)
		waitHealthy(b, addr)
		d := &devInstance{appURL: env["REPORTGATE_BASE_URL"], logtoURL: env["LOGTO_ENDPOINT"]}
		p := newPerson(b)
		p.signIn(d, "analyst@example.com")
		run(b, d.appURL, p)
	})
}

type driveResult struct {
	rate     float64 // requests per second
	p50, p99 time.Duration
}

// drive sends GETs of u with p's cookies from conns goroutines, each on
// its own keep-alive connection, for span, through the load generator
// `reportgate loadtest http` uses (it leaves the shared cores to the
// server). It asks for gzip, as browsers do, but does not decompress: a
// browser does that on its own CPU, and here it would take the server's.
func drive(b *testing.B, p *person, u string, conns int, span time.Duration) driveResult {
	target, err := url.Parse(u)
	if err != nil {
		b.Fatal(err)
	}
	var cookies []string
	for _, c := range p.client.Jar.Cookies(target) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	res := loadtest.Gets(context.Background(), target, conns, span,
		"Cookie: "+strings.Join(cookies, "; "), "Accept-Encoding: gzip")
	statuses := res.Statuses()
	if ok := statuses["200"]; ok == 0 || len(statuses) != 1 {
		b.Fatalf("%s: answers %v, want only 200s", u, statuses)
	}
	return driveResult{rate: res.Rate(), p50: res.Quantile(0.50), p99: res.Quantile(0.99)}
}
