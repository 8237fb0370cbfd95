// Package loadtest drives a running reportgate over HTTP and measures it:
// requests/s, p50, p99 and the count of each status. It measures; it does
// not check, and it never changes the instance's settings.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/webhook"
)

// Bounds of a load test, so a typo cannot start an endless or huge run.
const (
	MaxWorkers  = 1024
	MaxCount    = 200_000 // deliveries are built before the clock starts
	MaxDuration = 10 * time.Minute
	reqTimeout  = 10 * time.Second
)

// Webhooks is a run of signed Logto deliveries.
type Webhooks struct {
	URL         string // base URL of the app; deliveries go to <URL>/webhooks/logto
	Key         string // webhook signing key
	Senders     int
	Count       int // deliveries, two per new person
	Timeout     time.Duration
	AllowRemote bool // allow a target that is not loopback
	// Metrics, if set, is the instance's Prometheus endpoint: after sending,
	// Run waits (within Timeout) until a sync job per new person has
	// succeeded, and prints when, then the instance's RSS then and after
	// Idle.
	Metrics string
	Idle    time.Duration
}

// Run sends the deliveries, built and signed before the clock starts,
// and prints what it measured to w.
func (c Webhooks) Run(ctx context.Context, w io.Writer) error {
	switch {
	case c.Key == "":
		return errors.New("loadtest webhooks: --key (or LOGTO_WEBHOOK_SIGNING_KEY) is required")
	case c.Count < 1 || c.Count > MaxCount:
		return fmt.Errorf("loadtest webhooks: --count must be 1..%d", MaxCount)
	case c.Idle < 0 || c.Idle > MaxDuration:
		return fmt.Errorf("loadtest webhooks: --idle must be 0..%s", MaxDuration)
	}
	target, err := checkTarget(c.URL, c.AllowRemote)
	if err != nil {
		return err
	}
	target = target.JoinPath("/webhooks/logto")
	if err := checkBounds(c.Senders, c.Timeout); err != nil {
		return err
	}
	bodies, err := registrations(c.Count, time.Now())
	if err != nil {
		return err
	}
	sigs := make([]string, len(bodies))
	for i, b := range bodies {
		sigs[i] = webhook.Sign(b, c.Key)
	}
	// The timeout covers sending and the sync; the idle watch comes after.
	timed, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var metrics *metricsReader
	var syncedBase float64
	if c.Metrics != "" {
		u, err := checkTarget(c.Metrics, c.AllowRemote)
		if err != nil {
			return err
		}
		metrics = newMetricsReader(u)
		s, err := metrics.read(timed)
		if err == nil {
			syncedBase, err = s.need(syncedSeries)
		}
		if err != nil {
			return err
		}
	}
	start := time.Now()
	to := target.String()
	var next atomic.Int64
	res := run(timed, c.Senders, func(ctx context.Context) (*http.Request, bool) {
		i := int(next.Add(1) - 1)
		if i >= len(bodies) {
			return nil, false
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(bodies[i]))
		if err != nil {
			return nil, false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Logto (https://logto.io/)")
		req.Header.Set(webhook.SignatureHeader, sigs[i])
		return req, true
	})
	res.print(w, fmt.Sprintf("webhooks %s: %d senders", target, c.Senders))
	if res.n < len(bodies) {
		return fmt.Errorf("loadtest webhooks: sent %d of %d before the timeout", res.n, len(bodies))
	}
	if err := res.answered(); err != nil || metrics == nil {
		return err
	}
	people := (len(bodies) + 1) / 2
	took, exact, err := metrics.syncedBy(timed, syncedBase, float64(people), start)
	if err != nil {
		return err
	}
	how := "and no sync job left to run"
	if !exact {
		how = "(this replica does not export job states: counted in jobs)"
	}
	fmt.Fprintf(w, "  synced: %d sync jobs succeeded %s, %.1f s after the first delivery\n", people, how, took.Seconds())
	return metrics.idleRSS(ctx, w, c.Idle)
}

// HTTP is a run of GETs of one URL.
type HTTP struct {
	URL         string
	Conns       int
	Duration    time.Duration
	Cookie      string // a Cookie header to send, e.g. a signed-in browser's session
	AllowRemote bool   // allow a target that is not loopback
	// Baseline, if set, is GETted the same way first (without the cookie),
	// and the URL's rate is printed as a ratio of its rate: /healthz makes
	// the ratio "this page against the server's floor" on this machine.
	Baseline string
}

// Run GETs the URL from Conns connections for Duration and prints what it
// measured to w.
func (c HTTP) Run(ctx context.Context, w io.Writer) error {
	target, err := checkTarget(c.URL, c.AllowRemote)
	if err != nil {
		return err
	}
	var baseline *url.URL
	if c.Baseline != "" {
		if baseline, err = checkTarget(c.Baseline, c.AllowRemote); err != nil {
			return err
		}
	}
	if err := checkBounds(c.Conns, c.Duration); err != nil {
		return err
	}
	var base Result
	if baseline != nil {
		base = Gets(ctx, baseline, c.Conns, c.Duration)
		base.print(w, fmt.Sprintf("GET %s: %d connections", baseline, c.Conns))
		if err := base.answered(); err != nil {
			return err
		}
	}
	var headers []string
	if c.Cookie != "" {
		headers = append(headers, "Cookie: "+c.Cookie)
	}
	res := Gets(ctx, target, c.Conns, c.Duration, headers...)
	res.print(w, fmt.Sprintf("GET %s: %d connections", target, c.Conns))
	if err := res.answered(); err != nil {
		return err
	}
	if baseline != nil {
		fmt.Fprintf(w, "  %.2f× the rate of %s\n", res.Rate()/base.Rate(), baseline.Path)
	}
	return nil
}

// Gets GETs target from conns keep-alive connections for span, each
// request with the extra header lines given ("Name: value"), and measures
// each until its body is read. Plain http goes through rawGetter, which
// leaves the shared cores to the server; https through net/http.
func Gets(ctx context.Context, target *url.URL, conns int, span time.Duration, headers ...string) Result {
	// Requests stop being started at the end of span; the ones in flight
	// may take reqTimeout more.
	ctx, cancel := context.WithTimeout(ctx, span+reqTimeout)
	defer cancel()
	end := time.Now().Add(span)
	if target.Scheme == "http" {
		return runEach(ctx, conns, func(measure func(send func() (int, error))) {
			g := newRawGetter(target, reqTimeout, headers...)
			defer g.close()
			get := g.get // once: a method value made in the loop is allocated per request
			for ctx.Err() == nil && time.Now().Before(end) {
				measure(get)
			}
		})
	}
	to, header := target.String(), http.Header{}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		header.Add(name, strings.TrimSpace(value))
	}
	return run(ctx, conns, func(ctx context.Context) (*http.Request, bool) {
		if time.Now().After(end) {
			return nil, false
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, to, nil)
		if err != nil {
			return nil, false
		}
		req.Header = header.Clone()
		return req, true
	})
}

// checkTarget parses raw and, unless remote, refuses a host that is not
// loopback: a load test pointed at someone else's server by mistake is an
// attack on it.
func checkTarget(raw string, remote bool) (*url.URL, error) {
	u, err := config.ParseHTTPURL(raw)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %q is not an http(s) URL", raw)
	}
	if remote {
		return u, nil
	}
	host := u.Hostname()
	if config.IsLoopback(host) {
		return u, nil
	}
	return nil, fmt.Errorf("loadtest: %s is not a loopback address; pass --allow-remote to load it anyway", host)
}

func checkBounds(workers int, d time.Duration) error {
	if workers < 1 || workers > MaxWorkers {
		return fmt.Errorf("loadtest: concurrency must be 1..%d", MaxWorkers)
	}
	if d <= 0 || d > MaxDuration {
		return fmt.Errorf("loadtest: duration must be more than 0 and at most %s", MaxDuration)
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration // sorted
	status  map[string]int  // "204", or "error" when no response came
}

// answered is an error when no request got a response: a run against a
// target that is not up measures nothing.
func (r Result) answered() error {
	if r.status["error"] == r.n {
		return errors.New("loadtest: no request got a response; is the instance running?")
	}
	return nil
}

// Rate is the requests per second the run reached.
func (r Result) Rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// Quantile is the latency below which the fraction q of requests finished
// (0.99 for p99); zero when nothing was measured.
func (r Result) Quantile(q float64) time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.lat[int(float64(r.n-1)*q)]
}

// Statuses counts the answers by status code ("error" when none came).
func (r Result) Statuses() map[string]int { return maps.Clone(r.status) }

func (r Result) print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s: %d requests in %s\n", what, r.n, r.elapsed.Round(time.Millisecond))
	if r.n == 0 {
		return
	}
	q := func(p float64) string { return fmt.Sprintf("%.2f ms", float64(r.Quantile(p).Microseconds())/1000) }
	fmt.Fprintf(w, "  %.0f req/s, p50 %s, p99 %s\n", r.Rate(), q(0.50), q(0.99))
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.status)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.status[k]))
	}
	fmt.Fprintf(w, "  status: %s\n", strings.Join(parts, " "))
}

// run sends, from workers goroutines, the requests next gives until it
// says no more or ctx ends, and measures each until its body is read.
func run(ctx context.Context, workers int, next func(ctx context.Context) (*http.Request, bool)) Result {
	client := &http.Client{
		Timeout: reqTimeout,
		Transport: &http.Transport{
			MaxIdleConns:        workers,
			MaxIdleConnsPerHost: workers,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	return runEach(ctx, workers, func(measure func(send func() (int, error))) {
		for ctx.Err() == nil {
			req, ok := next(ctx)
			if !ok {
				return
			}
			measure(func() (int, error) {
				resp, err := client.Do(req)
				if err != nil {
					return 0, err
				}
				defer resp.Body.Close()
				_, err = io.Copy(io.Discard, resp.Body)
				return resp.StatusCode, err
			})
		}
	})
}

// runEach runs loop in workers goroutines. loop sends through measure,
// which times each send and tallies its status; a send that fails once
// ctx has ended is the run's time being up, not the server's failure, and
// is not counted.
func runEach(ctx context.Context, workers int, loop func(measure func(send func() (int, error)))) Result {
	// Counted by code while running, named once at the end: no string is
	// made per request.
	type tally struct {
		lat    []time.Duration
		codes  map[int]int
		errors int
	}
	tallies := make([]tally, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range tallies {
		t := &tallies[w]
		t.codes = map[int]int{}
		wg.Go(func() {
			loop(func(send func() (int, error)) {
				t0 := time.Now()
				code, err := send()
				took := time.Since(t0)
				switch {
				case err != nil && ctx.Err() != nil:
					return
				case err != nil:
					t.errors++
				default:
					t.codes[code]++
				}
				t.lat = append(t.lat, took)
			})
		})
	}
	wg.Wait()
	res := Result{elapsed: time.Since(start), status: map[string]int{}}
	for _, t := range tallies {
		res.lat = append(res.lat, t.lat...)
		for code, n := range t.codes {
			res.status[strconv.Itoa(code)] += n
		}
		if t.errors > 0 {
			res.status["error"] += t.errors
		}
	}
	slices.Sort(res.lat)
	res.n = len(res.lat)
	return res
}

// registrations builds n deliveries as Logto sends them when people
// register through the sign-in experience: for each new person a
// User.Created data hook and a PostRegister interaction hook, with Logto's
// key order and 12-character ids.
func registrations(n int, now time.Time) ([][]byte, error) {
	const hookID = "loadtesthook0001"
	bodies := make([][]byte, 0, n)
	for i := 0; len(bodies) < n; i++ {
		id := logtoID(12)
		at := now.Add(time.Duration(i) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
		u := loadUser{ID: id, PrimaryEmail: fmt.Sprintf("load-%s@example.com", id), Name: "Load " + id,
			CustomData: struct{}{}, Identities: struct{}{}, Profile: struct{}{},
			CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}
		session, app := logtoID(21), logtoID(21)
		created, err := json.Marshal(createdHook{Event: webhook.EventUserCreated, CreatedAt: at, InteractionEvent: "Register",
			UserAgent: "Mozilla/5.0 (loadtest)", ApplicationID: app, SessionID: session, IP: "127.0.0.1",
			Application: loadApp{ID: app, Type: "Traditional", Name: "reportgate"}, Data: u, HookID: hookID})
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, created)
		if len(bodies) == n {
			break
		}
		registered, err := json.Marshal(registerHook{Event: webhook.EventPostRegister, InteractionEvent: "Register", CreatedAt: at,
			SessionID: session, UserAgent: "Mozilla/5.0 (loadtest)", UserID: id, UserIP: "127.0.0.1", User: u,
			Application: loadApp{ID: app, Type: "Traditional", Name: "reportgate"}, HookID: hookID})
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, registered)
	}
	return bodies, nil
}

// logtoID returns n (at most 26) random lower-case letters and digits,
// like the ids Logto generates.
func logtoID(n int) string {
	return strings.ToLower(rand.Text())[:n]
}

// The payload shapes, fields in Logto's order.
type (
	loadUser struct {
		ID            string   `json:"id"`
		Username      *string  `json:"username"`
		PrimaryEmail  string   `json:"primaryEmail"`
		PrimaryPhone  *string  `json:"primaryPhone"`
		Name          string   `json:"name"`
		Avatar        *string  `json:"avatar"`
		CustomData    struct{} `json:"customData"`
		Identities    struct{} `json:"identities"`
		LastSignInAt  *int64   `json:"lastSignInAt"`
		CreatedAt     int64    `json:"createdAt"`
		UpdatedAt     int64    `json:"updatedAt"`
		Profile       struct{} `json:"profile"`
		ApplicationID *string  `json:"applicationId"`
		IsSuspended   bool     `json:"isSuspended"`
	}
	loadApp struct {
		ID          string  `json:"id"`
		Type        string  `json:"type"`
		Name        string  `json:"name"`
		Description *string `json:"description"`
	}
	createdHook struct {
		Event            string   `json:"event"`
		CreatedAt        string   `json:"createdAt"`
		InteractionEvent string   `json:"interactionEvent"`
		UserAgent        string   `json:"userAgent"`
		ApplicationID    string   `json:"applicationId"`
		SessionID        string   `json:"sessionId"`
		IP               string   `json:"ip"`
		Application      loadApp  `json:"application"`
		Data             loadUser `json:"data"`
		HookID           string   `json:"hookId"`
	}
	registerHook struct {
		Event            string   `json:"event"`
		InteractionEvent string   `json:"interactionEvent"`
		CreatedAt        string   `json:"createdAt"`
		SessionID        string   `json:"sessionId"`
		UserAgent        string   `json:"userAgent"`
		UserID           string   `json:"userId"`
		UserIP           string   `json:"userIp"`
		User             loadUser `json:"user"`
		Application      loadApp  `json:"application"`
		HookID           string   `json:"hookId"`
	}
)
