package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// denyExport allows everything but reports:export.
func denyExport(resource, action string) bool { return !(resource == "reports" && action == "export") }

func TestCacheTTLs(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	f.decide = denyExport
	clk := newClock()
	c := newChecker(t, f.URL, func(c *Config) {
		c.AllowTTL, c.DenyTTL, c.Now = 10*time.Second, 2*time.Second, clk.Now
	})
	ask := func(action string, want bool) {
		t.Helper()
		got, err := c.Allowed(t.Context(), alice, "reports", action)
		if err != nil || got != want {
			t.Fatalf("Allowed(%s) = (%v, %v), want %v", action, got, err, want)
		}
	}
	calls := func() int64 { return f.count(pathAllowed) }

	ask("view", true)
	ask("export", false)
	if calls() != 2 {
		t.Fatalf("%d PDP calls for two cold decisions, want 2", calls())
	}
	ask("view", true)
	ask("export", false)
	if calls() != 2 {
		t.Errorf("%d PDP calls: repeat within TTL was not a cache hit", calls())
	}

	clk.Advance(2 * time.Second) // deny TTL over, allow TTL not
	ask("view", true)
	if calls() != 2 {
		t.Errorf("allow expired with the deny TTL")
	}
	ask("export", false)
	if calls() != 3 {
		t.Errorf("%d PDP calls: deny still cached after DenyTTL, want 3", calls())
	}

	clk.Advance(8 * time.Second) // allow TTL over
	ask("view", true)
	if calls() != 4 {
		t.Errorf("%d PDP calls: allow still cached after AllowTTL, want 4", calls())
	}
	if st := c.Stats(); st.CacheHits != 3 || st.CacheMisses != 4 || st.Allows != 4 || st.Denies != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCacheZeroTTLDisables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		allowTTL, denyTTL time.Duration
		wantCalls         int64 // for 2 allows and 2 denies
	}{
		{"both off", 0, 0, 4},
		{"allows off", 0, time.Hour, 3},
		{"denies off", time.Hour, 0, 3},
		{"both on", time.Hour, time.Hour, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, nil)
			f.decide = denyExport
			c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = tt.allowTTL, tt.denyTTL })
			for range 2 {
				for _, action := range []string{"view", "export"} {
					if _, err := c.Allowed(t.Context(), alice, "reports", action); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := f.count(pathAllowed); got != tt.wantCalls {
				t.Errorf("%d PDP calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	f := startFake(t, func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"allow":true}`)
	})
	c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })
	if _, err := c.Allowed(t.Context(), alice, "reports", "view"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	fail.Store(false)
	if ok, err := c.Allowed(t.Context(), alice, "reports", "view"); err != nil || !ok {
		t.Fatalf("after recovery: (%v, %v), want allow: the error was cached", ok, err)
	}
	if got := f.count(pathAllowed); got != 2 {
		t.Errorf("%d PDP calls, want 2", got)
	}
}

func TestForget(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })
	bob := User{Key: "bob"}
	for _, u := range []User{alice, bob, alice, bob} {
		if _, err := c.Allowed(t.Context(), u, "reports", "view"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count(pathAllowed); got != 2 {
		t.Fatalf("%d PDP calls before Forget, want 2", got)
	}
	c.Forget(alice.Key)
	for _, u := range []User{alice, bob} {
		if _, err := c.Allowed(t.Context(), u, "reports", "view"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count(pathAllowed); got != 3 {
		t.Errorf("%d PDP calls after Forget(alice), want 3 (alice again, bob cached)", got)
	}
}

func TestForgetDuringFlightIsNotCached(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	f.gate = make(chan struct{})
	c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })
	done := make(chan error)
	go func() {
		_, err := c.Allowed(context.Background(), alice, "reports", "view")
		done <- err
	}()
	waitFor(t, "the PDP call", func() bool { return f.count(pathAllowed) == 1 })
	c.Forget(alice.Key) // the role changed while the PDP was deciding
	close(f.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().CacheEntries; n != 0 {
		t.Errorf("a decision started before Forget was cached (%d entries)", n)
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	clk := newClock()
	c := newChecker(t, f.URL, func(c *Config) {
		c.AllowTTL, c.DenyTTL, c.MaxEntries, c.Now = time.Hour, time.Hour, 3, clk.Now
	})
	ask := func(user string) {
		t.Helper()
		if _, err := c.Allowed(t.Context(), User{Key: user}, "reports", "view"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		clk.Advance(time.Second)
		ask(fmt.Sprint("u", i))
		if n := c.Stats().CacheEntries; n > 3 {
			t.Fatalf("cache holds %d entries, bound is 3", n)
		}
	}
	before := f.count(pathAllowed)
	ask("u9") // newest: kept
	ask("u0") // oldest: evicted
	if got := f.count(pathAllowed) - before; got != 1 {
		t.Errorf("%d PDP calls for u9 (cached) + u0 (evicted), want 1", got)
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ca := newCache(time.Hour, time.Second, 2)
	k := func(u string) decisionKey { return decisionKey{user: u, tenant: "t", resource: "r", action: "a"} }
	ca.put(k("allow"), true, clk.Now(), 0)
	ca.put(k("deny"), false, clk.Now(), 0)
	clk.Advance(time.Second) // the deny has expired
	ca.put(k("new"), true, clk.Now(), 0)
	if _, ok := ca.get(k("allow"), clk.Now()); !ok {
		t.Error("an unexpired allow was evicted while an expired deny was there")
	}
	if _, ok := ca.get(k("new"), clk.Now()); !ok {
		t.Error("the new entry is missing")
	}
}

func TestCoalescing(t *testing.T) {
	t.Parallel()
	const n = 32
	f := startFake(t, nil)
	f.gate = make(chan struct{})
	c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })

	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ok, err := c.Allowed(context.Background(), alice, "reports", "view")
			if err == nil && !ok {
				err = errors.New("denied")
			}
			results[i] = err
		})
	}
	waitFor(t, "all callers to wait on the PDP", func() bool { return c.Stats().Waiting == n })
	close(f.gate)
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got := f.count(pathAllowed); got != 1 {
		t.Errorf("%d PDP calls for %d concurrent identical checks, want 1", got, n)
	}
	if st := c.Stats(); st.Coalesced != n-1 || st.CacheMisses != n || st.AllowedCalls != 1 {
		t.Errorf("stats = %+v, want Coalesced %d", st, n-1)
	}
}

func TestCallerContextEndsWait(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	f.gate = make(chan struct{})
	c := newChecker(t, f.URL, func(c *Config) { c.AllowTTL = time.Hour })

	patient := make(chan error)
	go func() {
		_, err := c.Allowed(context.Background(), alice, "reports", "view")
		patient <- err
	}()
	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error)
	go func() {
		_, err := c.Allowed(ctx, alice, "reports", "view")
		impatient <- err
	}()
	waitFor(t, "both callers to wait", func() bool { return c.Stats().Waiting == 2 })
	cancel()
	if err := <-impatient; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v, want ErrUnavailable caused by context.Canceled", err)
	}
	close(f.gate)
	if err := <-patient; err != nil {
		t.Errorf("the shared call was cancelled for the other caller: %v", err)
	}
}

func TestAllowedAllCost(t *testing.T) {
	t.Parallel()
	s := startStandin(t)
	s.grant(t, alice.Key, "analyst")
	c := newChecker(t, s.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })
	page := []Request{{"reports", "view"}, {"reports", "export"}, {"reports", "view"}} // a duplicate too

	got, err := c.AllowedAll(t.Context(), alice, page...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Request]bool{{"reports", "view"}: true, {"reports", "export"}: true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AllowedAll = %v, want %v", got, want)
	}
	if cn := s.Counts(); cn.Allowed != 2 || cn.Bulk != 0 || cn.UserPermissions != 0 {
		t.Errorf("a 2-decision page cost %+v, want 2 /allowed", cn)
	}

	// One cached, one new: only the new one is asked.
	got, err = c.AllowedAll(t.Context(), alice, Request{"reports", "view"}, Request{"users", "manage"})
	if err != nil {
		t.Fatal(err)
	}
	if !got[Request{"reports", "view"}] || got[Request{"users", "manage"}] || len(got) != 2 {
		t.Errorf("AllowedAll = %v", got)
	}
	if cn := s.Counts(); cn.Allowed != 3 {
		t.Errorf("%d /allowed after a half-cached page, want 3", cn.Allowed)
	}

	// Five or more missing: one bulk request.
	c.Forget(alice.Key)
	many := []Request{{"reports", "view"}, {"reports", "export"}, {"sync", "manage"}, {"users", "manage"}, {"reports", "delete"}}
	got, err = c.AllowedAll(t.Context(), alice, many...)
	if err != nil {
		t.Fatal(err)
	}
	want = map[Request]bool{many[0]: true, many[1]: true, many[2]: false, many[3]: false, many[4]: false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AllowedAll = %v, want %v", got, want)
	}
	if cn := s.Counts(); cn.Bulk != 1 || cn.Allowed != 3 {
		t.Errorf("a 5-decision page cost %+v, want 1 bulk and no /allowed", cn)
	}
	// The bulk answers are cached like any other.
	if _, err := c.AllowedAll(t.Context(), alice, many...); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Allowed(t.Context(), alice, "reports", "export"); err != nil || !ok {
		t.Errorf("Allowed after bulk = (%v, %v)", ok, err)
	}
	if cn := s.Counts(); cn.Bulk != 1 || cn.Allowed != 3 {
		t.Errorf("cached page cost more calls: %+v", cn)
	}
	if got, err := c.AllowedAll(t.Context(), alice); err != nil || len(got) != 0 {
		t.Errorf("AllowedAll() = (%v, %v), want an empty map", got, err)
	}
}
