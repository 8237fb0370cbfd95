package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/enforcement"
	sdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	"reportgate/internal/devstack/permit"
)

func TestAllowedAgainstStandin(t *testing.T) {
	t.Parallel()
	s := startStandin(t)
	s.grant(t, "viewer-1", "viewer")
	s.grant(t, "analyst-1", "analyst")
	s.grant(t, "admin-1", "admin")
	s.grant(t, "nobody-1") // synced, no role
	var observed sync.Map  // endpoint → *atomic.Int64
	c := newChecker(t, s.URL, func(c *Config) {
		c.ObservePDP = func(endpoint string, d time.Duration) {
			n, _ := observed.LoadOrStore(endpoint, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
	})

	tests := []struct {
		user, resource, action string
		want                   bool
	}{
		{"viewer-1", "reports", "view", true},
		{"viewer-1", "reports", "export", false},
		{"viewer-1", "users", "manage", false},
		{"analyst-1", "reports", "view", true},
		{"analyst-1", "reports", "export", true},
		{"analyst-1", "sync", "manage", false},
		{"admin-1", "sync", "manage", true},
		{"admin-1", "users", "manage", true},
		{"nobody-1", "reports", "view", false},
		{"never-synced", "reports", "view", false},
		{"admin-1", "reports", "delete", false}, // unknown action: a PDP deny, not an error
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s:%s", tt.user, tt.resource, tt.action), func(t *testing.T) {
			got, err := c.Allowed(t.Context(), User{Key: tt.user}, tt.resource, tt.action)
			if err != nil {
				t.Fatalf("Allowed: %v", err)
			}
			if got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
	if got, want := s.Counts().Allowed, int64(len(tests)); got != want {
		t.Errorf("stand-in saw %d /allowed, want %d (one per distinct decision)", got, want)
	}
	if st := c.Stats(); st.AllowedCalls != int64(len(tests)) || st.Allows != 5 || st.Denies != 6 {
		t.Errorf("stats = %+v", st)
	}
	if n, ok := observed.Load("allowed"); !ok || n.(*atomic.Int64).Load() != int64(len(tests)) {
		t.Errorf("ObservePDP saw %v /allowed calls, want %d", n, len(tests))
	}
}

func TestRoleChangeVisibleAfterForget(t *testing.T) {
	t.Parallel()
	s := startStandin(t)
	s.grant(t, "u1", "viewer")
	c := newChecker(t, s.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = time.Hour, time.Hour })

	ask := func() bool {
		t.Helper()
		ok, err := c.Allowed(t.Context(), User{Key: "u1"}, "reports", "export")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if ask() {
		t.Fatal("viewer may export")
	}
	s.grant(t, "u1", "analyst")
	if ask() {
		t.Fatal("deny was not cached: the test cannot show Forget works")
	}
	c.Forget("u1")
	if !ask() {
		t.Error("after Forget, the new analyst role is not visible")
	}
}

// TestSDKAloneDeniesSilently documents the SDK bug this package exists to
// contain: if it ever stops returning (false, nil) on a 429,
// pdpTransport may become unnecessary.
func TestSDKAloneDeniesSilently(t *testing.T) {
	t.Parallel()
	f := startFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":"rate_limited","message":"slow down"}`)
	})
	client := sdk.New(config.NewConfigBuilder(testKey).WithPdpUrl(f.URL).WithLogger(zap.NewNop()).Build())
	allow, err := client.Check(enforcement.UserBuilder("u").Build(), "view", enforcement.ResourceBuilder("reports").Build())
	if allow || err != nil {
		t.Fatalf("raw SDK Check on 429 = (%v, %v); expected the known silent deny (false, nil)", allow, err)
	}
}

func TestFailsClosed(t *testing.T) {
	status := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}
	}
	wantStatus := func(code int) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != code {
				t.Errorf("cause is not a %d StatusError: %v", code, err)
			}
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		url     func(t *testing.T) string // instead of a fake, when set
		cause   func(*testing.T, error)
	}{
		{"400", status(400, `{"detail":"bad request"}`), nil, wantStatus(400)},
		{"429", status(429, `{"error":"rate_limited"}`), nil, wantStatus(429)},
		{"500", status(500, `{"detail":"boom"}`), nil, wantStatus(500)},
		{"502", status(502, `{"detail":"OPA request failed"}`), nil, wantStatus(502)},
		{"204 empty", status(204, ``), nil, wantStatus(204)},
		{"302 redirect", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusFound)
		}, nil, wantStatus(302)},
		{"200 not JSON", status(200, `<html>gateway</html>`), nil, func(t *testing.T, err error) {
			var se *json.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("cause is not a JSON syntax error: %v", err)
			}
		}},
		{"200 without allow", status(200, `{"result":true}`), nil, func(t *testing.T, err error) {
			if !errors.Is(err, errNoDecision) {
				t.Errorf("cause is not errNoDecision: %v", err)
			}
		}},
		{"200 allow not bool", status(200, `{"allow":"yes"}`), nil, func(t *testing.T, err error) {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				t.Errorf("cause is not a JSON type error: %v", err)
			}
		}},
		{"slow beyond Timeout", func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answer never comes; the client gives up
		}, nil, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("cause is not a deadline: %v", err)
			}
		}},
		{"connection reset", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}, nil, func(t *testing.T, err error) {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
				t.Errorf("cause is not a reset connection: %v", err)
			}
		}},
		{"connection refused", nil, func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			return "http://" + addr
		}, func(t *testing.T, err error) {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("cause is not connection refused: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.url != nil {
				url = tt.url(t)
			} else {
				url = startFake(t, tt.handler).URL
			}
			c := newChecker(t, url, func(c *Config) {
				c.Timeout = 100 * time.Millisecond
				c.AllowTTL, c.DenyTTL = time.Hour, time.Hour
			})
			reqs := []Request{{"reports", "view"}, {"reports", "export"}, {"sync", "manage"}, {"users", "manage"}, {"reports", "delete"}}
			for _, call := range []struct {
				name string
				do   func() (bool, error)
			}{
				{"Allowed", func() (bool, error) { return c.Allowed(t.Context(), alice, "reports", "view") }},
				{"AllowedAll per action", func() (bool, error) { return allowedAllFailed(t, c, reqs[:2]) }},
				{"AllowedAll bulk", func() (bool, error) { return allowedAllFailed(t, c, reqs) }},
			} {
				allow, err := call.do()
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("%s = (%v, %v), want ErrUnavailable", call.name, allow, err)
				}
				if allow {
					t.Errorf("%s returned true with an error", call.name)
				}
				tt.cause(t, err)
			}
			if st := c.Stats(); st.Unavailable != 1+2+5 || st.Allows+st.Denies != 0 || st.CacheEntries != 0 {
				t.Errorf("stats after failures: %+v", st)
			}
		})
	}
}

// allowedAllFailed runs AllowedAll and reports "true" if it returned a map
// alongside its error, which it must not.
func allowedAllFailed(t *testing.T, c *Checker, reqs []Request) (bool, error) {
	m, err := c.AllowedAll(t.Context(), alice, reqs...)
	return m != nil, err
}

// TestFailsClosedStandin drives the stand-in's own fault modes.
func TestFailsClosedStandin(t *testing.T) {
	s := startStandin(t)
	s.grant(t, alice.Key, "admin")
	tests := []struct {
		name  string
		fault permit.Fault
		cause func(error) bool
	}{
		{"slow", permit.Fault{Mode: permit.FaultSlow, Delay: time.Hour}, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{"5xx", permit.Fault{Mode: permit.Fault5xx}, func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.StatusCode == 502 }},
		{"429", permit.Fault{Mode: permit.Fault429}, func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.StatusCode == 429 }},
		{"down", permit.Fault{Mode: permit.FaultDown}, func(err error) bool {
			return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, s.URL, func(c *Config) { c.Timeout = 100 * time.Millisecond })
			s.SetFault(tt.fault)
			t.Cleanup(func() { s.SetFault(permit.Fault{}) })
			allow, err := c.Allowed(t.Context(), alice, "reports", "view")
			if !errors.Is(err, ErrUnavailable) || allow {
				t.Fatalf("Allowed = (%v, %v), want ErrUnavailable", allow, err)
			}
			if !tt.cause(err) {
				t.Errorf("unexpected cause: %v", err)
			}
			s.SetFault(permit.Fault{})
			if allow, err := c.Allowed(t.Context(), alice, "reports", "view"); err != nil || !allow {
				t.Errorf("after the fault cleared: (%v, %v), want an allow", allow, err)
			}
		})
	}
}

func TestAPIPathsPassThrough(t *testing.T) {
	t.Parallel()
	// One listener serves API and PDP, as the stand-in does; an API 404 must
	// reach the SDK as a 404 reply, not a transport error.
	f := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error_code":"NOT_FOUND"}`)
	})
	c := newChecker(t, f.URL)
	client := &http.Client{Transport: c.transport}
	for _, path := range []string{"/v2/facts/p/e/users/u", "/allowedx", "/v2/allowed"} {
		res, err := client.Get(f.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "NOT_FOUND") {
			t.Errorf("GET %s: %d %s, want the 404 untouched", path, res.StatusCode, body)
		}
	}
	if _, err := client.Post(f.URL+pathAllowed, "application/json", nil); err == nil {
		t.Error("a 404 on /allowed passed through")
	}
}

func TestPDPURLWithPrefixAndTrailingSlash(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pdp/allowed", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"allow":true}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := newChecker(t, srv.URL+"/pdp/", func(c *Config) { c.APIURL = srv.URL + "/" })
	if ok, err := c.Allowed(t.Context(), alice, "reports", "view"); err != nil || !ok {
		t.Fatalf("Allowed = (%v, %v), want allow", ok, err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no key", Config{PDPURL: "http://pdp"}, "APIKey"},
		{"no pdp", Config{APIKey: "k"}, "PDPURL is required"},
		{"pdp scheme", Config{APIKey: "k", PDPURL: "localhost:7766"}, "scheme"},
		{"api path", Config{APIKey: "k", PDPURL: "http://pdp", APIURL: "https://api.permit.io/v2"}, "without a path"},
		{"negative timeout", Config{APIKey: "k", PDPURL: "http://pdp", Timeout: -1}, "Timeout"},
		{"negative ttl", Config{APIKey: "k", PDPURL: "http://pdp", DenyTTL: -1}, "DenyTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestCallerBugsAreNotUnavailable(t *testing.T) {
	t.Parallel()
	c := newChecker(t, startFake(t, nil).URL)
	for _, tt := range []struct {
		u        User
		res, act string
	}{{User{}, "reports", "view"}, {alice, "", "view"}, {alice, "reports", ""}} {
		if _, err := c.Allowed(t.Context(), tt.u, tt.res, tt.act); err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("Allowed(%+v, %q, %q) = %v, want a non-ErrUnavailable error", tt.u, tt.res, tt.act, err)
		}
	}
}
