package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/webhook"
)

// TestLoadtestWebhooksSendsSignedRegistrations checks that every delivery
// verifies with the key and parses as Logto's, two per fresh user, and
// that the printed counts are the server's.
func TestLoadtestWebhooksSendsSignedRegistrations(t *testing.T) {
	t.Parallel()
	const key, count = "loadtest-signing-key", 50
	var mu sync.Mutex
	events := map[string]int{}
	users := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/webhooks/logto" || webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), key) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev, err := webhook.Parse(body)
		if err != nil || !webhook.ValidID(ev.UserID) || ev.User == nil || ev.User.Email == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		events[ev.Name]++
		users[ev.UserID]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var out strings.Builder
	err := Webhooks{URL: srv.URL, Key: key, Senders: 4, Count: count, Timeout: 2 * time.Minute}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "status: 204×50\n") || !strings.Contains(out.String(), "req/s, p50") {
		t.Errorf("output does not report 50 × 204 and the rates:\n%s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if events[webhook.EventUserCreated] != count/2 || events[webhook.EventPostRegister] != count/2 {
		t.Errorf("events = %v, want %d of User.Created and of PostRegister", events, count/2)
	}
	if len(users) != count/2 {
		t.Errorf("%d distinct users, want %d", len(users), count/2)
	}
	for id, n := range users {
		if n != 2 {
			t.Errorf("user %s got %d deliveries, want 2", id, n)
		}
	}
}

// TestLoadtestHTTPCountsStatuses checks the cookie is sent and that the
// status counts printed add up to what the server answered.
func TestLoadtestHTTPCountsStatuses(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	served := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served++
		n := served
		mu.Unlock()
		if r.Header.Get("Cookie") != "rg_session=abc" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n%2 == 0 {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	var out strings.Builder
	err := HTTP{URL: srv.URL + "/healthz", Conns: 2, Duration: 100 * time.Millisecond, Cookie: "rg_session=abc"}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := served
	mu.Unlock()
	want := "status: 200×" + strconv.Itoa((n+1)/2) + " 418×" + strconv.Itoa(n/2) + "\n"
	if n == 0 || !strings.Contains(out.String(), want) {
		t.Errorf("server answered %d; output lacks %q:\n%s", n, want, out.String())
	}
}

func TestLoadtestRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	for _, r := range []interface {
		Run(context.Context, io.Writer) error
	}{
		Webhooks{URL: "http://192.0.2.1:8080", Key: "k", Senders: 16, Count: 1, Timeout: time.Minute},
		HTTP{URL: "https://example.com/healthz", Conns: 32, Duration: time.Second},
		HTTP{URL: "http://127.0.0.1.example.com/", Conns: 32, Duration: time.Second},
		HTTP{URL: "http://127.0.0.1/reports", Baseline: "http://192.0.2.1/healthz", Conns: 32, Duration: time.Second},
		Webhooks{URL: "http://127.0.0.1:8080", Key: "k", Senders: 16, Count: 1, Timeout: time.Minute, Metrics: "http://192.0.2.1:9464/metrics"},
	} {
		err := r.Run(context.Background(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%+v: err = %v, want a refusal naming --allow-remote", r, err)
		}
	}
}

func TestLoadtestFailsWhenNothingAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	err := HTTP{URL: url, Conns: 1, Duration: 50 * time.Millisecond}.Run(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no request got a response") {
		t.Errorf("err = %v, want one saying nothing answered", err)
	}
}

// fakeInstance answers webhooks with 204 and serves Prometheus metrics.
// Once every delivery has come, each read of them finds step more sync
// jobs succeeded (from base), so the wait must keep reading; the jobs left
// to run are the people's plus extra second jobs, less those succeeded.
// The RSS grows by 1 MB per read.
type fakeInstance struct {
	mu                      sync.Mutex
	want, got, extra        int
	base, step, synced, rss float64
	hideStates              bool // export no job states, as a replica that does not lead River
	readsAfterDeliveries    int
}

func (f *fakeInstance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/webhooks/logto":
		f.got++
		w.WriteHeader(http.StatusNoContent)
	case "/metrics":
		if f.got >= f.want {
			f.readsAfterDeliveries++
			f.synced += f.step
		}
		f.rss += 1e6
		fmt.Fprintf(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"+
			"process_resident_memory_bytes %g\n"+
			"reportgate_sync_jobs_total{result=\"failed\"} 0\n"+
			"reportgate_sync_jobs_total{result=\"succeeded\"} %g 1700000000000\n", f.rss, f.base+f.synced)
		if !f.hideStates {
			live := max(0, float64((f.want+1)/2+f.extra)-f.synced)
			fmt.Fprintf(w, "reportgate_sync_jobs{state=\"available\"} %g\nreportgate_sync_jobs{state=\"completed\"} 5\n"+
				"reportgate_sync_jobs{state=\"running\"} 0\nreportgate_sync_jobs{state=\"scheduled\"} 0\n"+
				"reportgate_sync_jobs{state=\"retryable\"} 0\n", live)
		}
	default:
		http.NotFound(w, r)
	}
}

// TestLoadtestWebhooksWaitsForTheSync checks that --metrics counts the
// sync jobs from where they stood before the run, waits until one per
// new person has succeeded and none is left to run, and prints the RSS
// then and after idle.
func TestLoadtestWebhooksWaitsForTheSync(t *testing.T) {
	t.Parallel()
	const count = 40 // 20 people
	for _, hide := range []bool{false, true} {
		// Two second jobs: the count reaches 20 at the 4th read, the
		// jobs left to run reach 0 at the 5th.
		f := &fakeInstance{want: count, extra: 2, base: 1000, step: 5, rss: 1e6, hideStates: hide}
		srv := httptest.NewServer(f)
		var out strings.Builder
		err := Webhooks{URL: srv.URL, Key: "k", Senders: 4, Count: count, Timeout: time.Minute,
			Metrics: srv.URL + "/metrics", Idle: 10 * time.Millisecond}.Run(context.Background(), &out)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		wantReads, how := 5, "and no sync job left to run"
		if hide {
			wantReads, how = 4, "(this replica does not export job states: counted in jobs)"
		}
		// The reads after the sync are the two of the RSS.
		if f.readsAfterDeliveries-2 != wantReads {
			t.Errorf("hidden states %v: reported synced at read %d after the deliveries, want %d", hide, f.readsAfterDeliveries-2, wantReads)
		}
		if !strings.Contains(out.String(), "synced: 20 sync jobs succeeded "+how) {
			t.Errorf("hidden states %v: output lacks the sync line with %q:\n%s", hide, how, out.String())
		}
		want := fmt.Sprintf("RSS: %.1f MB when synced, %.1f MB after 10ms idle", (f.rss-1e6)/1e6, f.rss/1e6)
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
		f.mu.Unlock()
	}
}

// TestLoadtestWebhooksGivesUpOnASyncThatDoesNotEnd checks that the sync
// wait ends with the timeout and says how far it got.
func TestLoadtestWebhooksGivesUpOnASyncThatDoesNotEnd(t *testing.T) {
	t.Parallel()
	f := &fakeInstance{want: 10, base: 3, step: 0}
	srv := httptest.NewServer(f)
	defer srv.Close()
	err := Webhooks{URL: srv.URL, Key: "k", Senders: 2, Count: 10, Timeout: 2 * time.Second,
		Metrics: srv.URL + "/metrics"}.Run(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "0 of 5 sync jobs succeeded, 5 left to run, before the timeout") {
		t.Errorf("err = %v, want the sync wait to time out", err)
	}
}

func TestParseSamplesReadsExactSeries(t *testing.T) {
	t.Parallel()
	text := "# TYPE x counter\nreportgate_sync_jobs_total{result=\"succeeded_late\"} 9\n" +
		"reportgate_http_request_duration_seconds_bucket{code=\"204\",route=\"POST /a {b} \\\"c\\\"\",le=\"0.5\"} 7\n" +
		"reportgate_sync_jobs_total{result=\"succeeded\"} 4.2e+01\nprocess_resident_memory_bytes 3.5e+07 123\n"
	got, err := parseSamples(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := got.need(syncedSeries); err != nil || v != 42 {
		t.Errorf("succeeded = %v, %v; want 42", v, err)
	}
	if v, err := got.need(rssSeries); err != nil || v != 35e6 {
		t.Errorf("rss = %v, %v; want 3.5e+07", v, err)
	}
	if v, err := got.need(`reportgate_http_request_duration_seconds_bucket{code="204",route="POST /a {b} \"c\"",le="0.5"}`); err != nil || v != 7 {
		t.Errorf("labels with spaces, braces and quotes: %v, %v; want 7", v, err)
	}
	if _, err := got.need("up"); err == nil || !strings.Contains(err.Error(), "no up") {
		t.Errorf("missing series: err = %v, want one naming it", err)
	}
	if _, err := parseSamples(strings.NewReader("up\n")); err == nil {
		t.Error("a sample without a value parsed")
	}
}

// TestLoadtestHTTPBaselineRatio checks that the baseline is fetched
// without the cookie and the ratio printed is that of the two rates.
func TestLoadtestHTTPBaselineRatio(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	cookies := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get("Cookie") != "" {
			cookies[r.URL.Path]++
		}
		mu.Unlock()
		if r.URL.Path == "/slow" {
			time.Sleep(5 * time.Millisecond) // the page under test costs more than the baseline
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var out strings.Builder
	err := HTTP{URL: srv.URL + "/slow", Baseline: srv.URL + "/fast", Cookie: "s=1", Conns: 2,
		Duration: 200 * time.Millisecond}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if cookies["/fast"] != 0 || cookies["/slow"] == 0 {
		t.Errorf("requests with a cookie by path = %v, want only /slow's", cookies)
	}
	var rates []float64
	var ratio float64
	for _, line := range strings.Split(out.String(), "\n") {
		var r float64
		if _, err := fmt.Sscanf(line, "  %f req/s", &r); err == nil {
			rates = append(rates, r)
		}
		if _, err := fmt.Sscanf(line, "  %f× the rate of /fast", &ratio); err == nil {
			continue
		}
	}
	if len(rates) != 2 || ratio == 0 {
		t.Fatalf("want two rates and a ratio, got %v and %v from:\n%s", rates, ratio, out.String())
	}
	if want := rates[1] / rates[0]; math.Abs(ratio-want) > 0.01+want*0.01 || ratio >= 1 {
		t.Errorf("ratio %.2f, want %.2f (below 1: /slow is slower)", ratio, want)
	}
}
