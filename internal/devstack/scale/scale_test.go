// Package scale loads both stand-ins with many users through the real
// clients and prints what each write costs as the directory grows, and the
// process's memory. It runs only when REPORTGATE_BENCH_STANDINS is set
// (make bench-standins), to the number of users to load.
//
// By default the stand-ins run in the test process. With
// REPORTGATE_BENCH_STANDINS_PID set to a running `reportgate devstack`, it
// loads that process instead, through the settings devstack prints
// (PERMIT_API_URL, PERMIT_API_KEY, LOGTO_ENDPOINT, LOGTO_M2M_APP_ID,
// LOGTO_M2M_APP_SECRET), and reads that process's RSS.
package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/models"
	permitsdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
	"reportgate/internal/testkit/standin"
)

const (
	permitKey  = "permit_key_scale_0123456789"
	m2mID      = "m2mscale00001"
	m2mSecret  = "m2mscalesecret000000000000000001"
	workers    = 8
	mgmtScope  = "all"
	mgmtTarget = "https://default.logto.app/api"
)

// timings records how long the stand-in's handler took for each write, in
// arrival order.
type timings struct {
	next atomic.Int64
	d    []time.Duration
}

func (tm *timings) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || strings.HasPrefix(r.URL.Path, "/oidc/") {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		h.ServeHTTP(w, r)
		if i := tm.next.Add(1) - 1; i < int64(len(tm.d)) {
			tm.d[i] = time.Since(start)
		}
	})
}

// window summarises the writes from index lo up to hi.
func (tm *timings) window(lo, hi int) string {
	ds := slices.Clone(tm.d[lo:hi])
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return fmt.Sprintf("mean %7.1f µs  p50 %7.1f µs  p99 %7.1f µs",
		us(sum/time.Duration(len(ds))), us(ds[len(ds)/2]), us(ds[len(ds)*99/100]))
}

// writeHeapProfile saves what the loaded stand-ins hold, for go tool pprof.
func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func rssMB(t *testing.T, pid string) float64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS line")
	return 0
}

type standins struct {
	permit      *permit.Server
	logto       *logto.Server
	permitURL   string
	logtoURL    string
	permitTimes *timings
	logtoTimes  *timings
	close       func()
}

func start(t *testing.T, dir string, users int) *standins {
	t.Helper()
	// The load runs against the roles the app ships.
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := permit.New(permit.Config{APIKey: permitKey, Schema: standin.PermitSchema(pol), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lhs := httptest.NewUnstartedServer(nil)
	lurl := "http://" + lhs.Listener.Addr().String()
	lt, err := logto.New(logto.Config{Endpoint: lurl, DataDir: dir,
		Apps: []logto.App{{ID: m2mID, Secret: m2mSecret, Type: logto.AppMachineToMachine}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &standins{permit: pm, logto: lt, logtoURL: lurl,
		permitTimes: &timings{d: make([]time.Duration, 2*users)}, logtoTimes: &timings{d: make([]time.Duration, users)}}
	lhs.Config.Handler = s.logtoTimes.wrap(lt.Handler())
	lhs.Start()
	phs := httptest.NewServer(s.permitTimes.wrap(pm.Handler()))
	s.permitURL = phs.URL
	s.close = func() {
		phs.Close()
		lhs.Close()
		pm.Close()
		lt.Close()
	}
	return s
}

func m2mToken(t *testing.T, c *http.Client, logtoURL, m2mID, m2mSecret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtTarget}, "scope": {mgmtScope}}
	req, _ := http.NewRequest(http.MethodPost, logtoURL+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(m2mID, m2mSecret)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// TestStandinsAtScale loads REPORTGATE_BENCH_STANDINS users (make
// bench-standins sets 100,000); without it, a small load that checks the
// path every write takes, so `make test` runs it too.
func TestStandinsAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("REPORTGATE_BENCH_STANDINS"))
	if n <= 0 {
		n = 200
	}
	dir := t.TempDir()
	pid := os.Getenv("REPORTGATE_BENCH_STANDINS_PID")
	var s *standins // nil when loading an outside devstack
	permitURL, logtoURL, key, id, secret := os.Getenv("PERMIT_API_URL"), os.Getenv("LOGTO_ENDPOINT"),
		os.Getenv("PERMIT_API_KEY"), os.Getenv("LOGTO_M2M_APP_ID"), os.Getenv("LOGTO_M2M_APP_SECRET")
	if pid == "" {
		pid = "self"
		s = start(t, dir, n)
		permitURL, logtoURL, key, id, secret = s.permitURL, s.logtoURL, permitKey, m2mID, m2mSecret
	}
	ctx := context.Background()
	// With no PermitContext the SDK loads one lazily on first use, and
	// concurrent first calls race on it; the app sets it too.
	pc := permitsdk.New(config.NewConfigBuilder(key).WithApiUrl(permitURL).WithPdpUrl(permitURL).
		WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, permit.ProjectKey, permit.EnvironmentKey)).
		WithLogger(zap.NewNop()).WithTimeout(30 * time.Second).Build())
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	token := m2mToken(t, hc, logtoURL, id, secret)
	// Round trips as the client sees them: one Logto write and two Permit
	// writes per user.
	clientTimes := &timings{d: make([]time.Duration, 3*n)}
	timed := func(f func() error) error {
		start := time.Now()
		err := f()
		if i := clientTimes.next.Add(1) - 1; i < int64(len(clientTimes.d)) {
			clientTimes.d[i] = time.Since(start)
		}
		return err
	}

	createLogto := func(i int) error {
		body, _ := json.Marshal(map[string]string{"primaryEmail": fmt.Sprintf("user%06d@example.com", i), "name": fmt.Sprintf("User %d", i)})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, logtoURL+"/api/users", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return timed(func() error {
			res, err := hc.Do(req)
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("create user %d: %d", i, res.StatusCode)
			}
			return nil
		})
	}
	createPermit := func(i int) error {
		key := fmt.Sprintf("user%06d", i)
		uc := *models.NewUserCreate(key)
		uc.SetEmail(key + "@example.com")
		if err := timed(func() error { _, err := pc.Api.Users.Create(ctx, uc); return err }); err != nil {
			return fmt.Errorf("permit user %d: %w", i, err)
		}
		role := "viewer"
		if i%10 == 0 {
			role = "admin"
		}
		if err := timed(func() error { _, err := pc.Api.Users.AssignRole(ctx, key, role, permit.DefaultTenant); return err }); err != nil {
			return fmt.Errorf("permit role %d: %w", i, err)
		}
		return nil
	}

	fmt.Printf("stand-ins at scale: %d users through the real permit-golang SDK (user + role assignment) and the Logto Management API (create user), %d concurrent clients\n", n, workers)
	fmt.Printf("RSS before loading: %.0f MB (process %s)\n", rssMB(t, pid), pid)
	started := time.Now()
	loaded := 0
	for _, mark := range []int{1_000, 10_000, 100_000, n} {
		if mark > n || mark <= loaded {
			continue
		}
		var next atomic.Int64
		next.Store(int64(loaded))
		var wg sync.WaitGroup
		var failed atomic.Value
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= mark || failed.Load() != nil {
						return
					}
					if err := createLogto(i); err != nil {
						failed.Store(err)
						return
					}
					if err := createPermit(i); err != nil {
						failed.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			t.Fatal(err)
		}
		lo := max(loaded, mark-mark/10)
		fmt.Printf("\nat %d users (users %d–%d, %.0fs so far), time per write:\n", mark, lo, mark, time.Since(started).Seconds())
		if s != nil {
			fmt.Printf("  handler, Permit (user or assignment): %s\n", s.permitTimes.window(2*lo, 2*mark))
			fmt.Printf("  handler, Logto (create user):         %s\n", s.logtoTimes.window(lo, mark))
		}
		fmt.Printf("  client round trip per write:          %s\n", clientTimes.window(3*lo, 3*mark))
		fmt.Printf("  RSS %.0f MB\n", rssMB(t, pid))
		loaded = mark
	}

	if s == nil {
		time.Sleep(5 * time.Second) // see that the outside process holds steady while idle
		fmt.Printf("\nRSS after 5 s idle: %.0f MB\n", rssMB(t, pid))
		return
	}
	runtime.GC()
	debug.FreeOSMemory()
	if path := os.Getenv("REPORTGATE_BENCH_STANDINS_HEAP"); path != "" {
		writeHeapProfile(t, path)
	}
	loadedRSS := rssMB(t, pid)
	fmt.Printf("\nRSS after loading and a GC: %.0f MB\n", loadedRSS)
	// Nothing in either stand-in runs while no request comes: no growth.
	time.Sleep(5 * time.Second)
	fmt.Printf("RSS after 5 s idle: %.0f MB\n", rssMB(t, pid))
	for _, f := range []string{"permit-standin.jsonl", "logto-standin.jsonl"} {
		if info, err := os.Stat(dir + "/" + f); err == nil {
			fmt.Printf("  %s: %.1f MB\n", f, float64(info.Size())/(1<<20))
		}
	}

	// A restart keeps everything: reload both from the logs.
	s.close()
	reloadStart := time.Now()
	r := start(t, dir, 1)
	defer r.close()
	reload := time.Since(reloadStart)
	last := fmt.Sprintf("user%06d", n-1)
	if _, ok := r.logto.UserByEmail(last + "@example.com"); !ok {
		t.Errorf("Logto lost %s across the restart", last)
	}
	pc2 := permitsdk.New(config.NewConfigBuilder(permitKey).WithApiUrl(r.permitURL).WithPdpUrl(r.permitURL).
		WithLogger(zap.NewNop()).Build())
	roles, err := pc2.Api.Users.GetAssignedRoles(ctx, last, permit.DefaultTenant, 1, 10)
	if err != nil || len(roles) != 1 {
		t.Errorf("Permit lost %s's role across the restart: %v, %v", last, roles, err)
	}
	fmt.Printf("restart: both stand-ins reloaded %d users in %.1fs\n", n, reload.Seconds())
}
