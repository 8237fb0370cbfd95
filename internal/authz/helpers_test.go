package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/models"
	sdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	"reportgate/internal/devstack/permit"
	"reportgate/internal/testkit"
	"reportgate/internal/testkit/standin"
)

const testKey = "permit_key_authz_test"

// newClock is a Config.Now source that moves only when told to.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// permitStandin is the local Permit (API + PDP on one listener).
type permitStandin struct{ *standin.Permit }

func startStandin(t testing.TB) permitStandin {
	t.Helper()
	return permitStandin{standin.StartPermit(t, permit.Config{APIKey: testKey, Schema: standin.DefaultSchema(t)})}
}

// grant syncs a user and assigns roles in the default tenant through the
// real SDK's REST calls, then makes the writes visible to the PDP.
func (s permitStandin) grant(t testing.TB, user string, roles ...string) {
	t.Helper()
	cfg := config.NewConfigBuilder(testKey).WithApiUrl(s.URL).WithPdpUrl(s.URL).
		WithLogger(zap.NewNop()).
		WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, permit.ProjectKey, permit.EnvironmentKey)).
		Build()
	client := sdk.New(cfg)
	ctx := context.Background()
	if _, err := client.Api.Users.SyncUser(ctx, *models.NewUserCreate(user)); err != nil {
		t.Fatalf("SyncUser %s: %v", user, err)
	}
	for _, r := range roles {
		if _, err := client.Api.Users.AssignRole(ctx, user, r, permit.DefaultTenant); err != nil {
			t.Fatalf("AssignRole %s %s: %v", user, r, err)
		}
	}
	s.Flush()
}

func newChecker(t testing.TB, pdpURL string, mutate ...func(*Config)) *Checker {
	t.Helper()
	cfg := Config{APIKey: testKey, PDPURL: pdpURL, APIURL: pdpURL, Timeout: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// fakePDP is a PDP whose answers the test controls. It counts requests per
// path and, when gate is set, holds every request until gate is closed.
type fakePDP struct {
	URL   string
	calls sync.Map // path → *atomic.Int64
	gate  chan struct{}
	// decide answers /allowed; nil allows everything.
	decide func(resource, action string) bool
}

func startFake(t testing.TB, handler http.HandlerFunc) *fakePDP {
	t.Helper()
	f := &fakePDP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := f.calls.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		// Read the body first: only then does net/http watch the connection
		// and cancel r.Context() when the client gives up.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if f.gate != nil {
			select {
			case <-f.gate:
			case <-r.Context().Done():
				return
			}
		}
		if handler != nil {
			handler(w, r)
			return
		}
		f.answer(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakePDP) count(path string) int64 {
	n, ok := f.calls.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

type fakeCheck struct {
	Action   string `json:"action"`
	Resource struct {
		Type string `json:"type"`
	} `json:"resource"`
}

func (f *fakePDP) allow(c fakeCheck) map[string]bool {
	ok := f.decide == nil || f.decide(c.Resource.Type, c.Action)
	return map[string]bool{"allow": ok, "result": ok}
}

func (f *fakePDP) answer(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case pathAllowed:
		var c fakeCheck
		_ = json.NewDecoder(r.Body).Decode(&c)
		_ = json.NewEncoder(w).Encode(f.allow(c))
	case pathBulk:
		var cs []fakeCheck
		_ = json.NewDecoder(r.Body).Decode(&cs)
		out := []map[string]bool{}
		for _, c := range cs {
			out = append(out, f.allow(c))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"allow": out})
	default:
		http.NotFound(w, r)
	}
}

// waitFor spins (yielding, no sleep) until cond holds or the test's
// deadline budget of 10 s passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

var alice = User{Key: "logto-sub-alice", Email: "alice@example.com", Name: "Alice"}
