package permitdir_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/devstack/permit"
	"reportgate/internal/permitdir"
	"reportgate/internal/testkit/standin"
)

const apiKey = "permit_key_test_permitdir"

type hidingStandin struct {
	*standin.Permit
	// hideUser makes the next GET of this user key answer 404, to force
	// SyncUser down its create path against an existing user (the race of
	// two first syncs: SyncUser is a GET then a POST, not atomic).
	hideUser atomic.Pointer[string]
}

func start(t *testing.T) *hidingStandin {
	t.Helper()
	s := &hidingStandin{}
	s.Permit = standin.StartPermit(t, permit.Config{APIKey: apiKey, Schema: standin.DefaultSchema(t)},
		standin.Wrap(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if k := s.hideUser.Load(); k != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/users/"+*k) {
					s.hideUser.Store(nil)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusNotFound)
					w.Write([]byte(`{"error_code":"NOT_FOUND","message":"hidden"}`))
					return
				}
				h.ServeHTTP(w, r)
			})
		}))
	return s
}

func newClient(t *testing.T, url string, keys bool) *permitdir.Client {
	t.Helper()
	cfg := permitdir.Config{APIKey: apiKey, APIURL: url + "/", Timeout: 2 * time.Second}
	if keys {
		cfg.Project, cfg.Environment = permit.ProjectKey, permit.EnvironmentKey
	}
	c, err := permitdir.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDirectoryWrites(t *testing.T) {
	t.Parallel()
	for _, keys := range []bool{true, false} {
		name := "scope-lookup"
		if keys {
			name = "keys-given"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			c := newClient(t, s.URL, keys)
			ctx := context.Background()

			if err := c.SyncUser(ctx, "u1", "u1@example.com", "Ada Lovelace"); err != nil {
				t.Fatal(err)
			}
			if err := c.SyncUser(ctx, "u1", "ada@example.com", ""); err != nil {
				t.Fatalf("second sync (update path): %v", err)
			}
			// Concurrent first syncs: our GET saw 404, another writer
			// created the user before our POST → 409 → PATCH.
			s.hideUser.Store(ptr("u1"))
			if err := c.SyncUser(ctx, "u1", "ada@example.com", "Ada"); err != nil {
				t.Fatalf("sync after a 409 on create: %v", err)
			}
			for range 2 {
				if err := c.AssignRole(ctx, "u1", "viewer"); err != nil {
					t.Fatalf("AssignRole (second is a 409): %v", err)
				}
			}
			roles, err := c.AssignedRoles(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(roles, []string{"viewer"}) {
				t.Fatalf("roles = %v, want [viewer]", roles)
			}
			for range 2 {
				if err := c.UnassignRole(ctx, "u1", "viewer"); err != nil {
					t.Fatalf("UnassignRole: %v", err)
				}
			}
			if roles, _ := c.AssignedRoles(ctx, "u1"); len(roles) != 0 {
				t.Fatalf("roles after unassign = %v", roles)
			}
			for range 2 {
				if err := c.DeleteUser(ctx, "u1"); err != nil {
					t.Fatalf("DeleteUser (second is a 404): %v", err)
				}
			}
		})
	}
}

// Concurrent first calls must not race on the SDK's lazily loaded context
// (it is written without a lock); run with -race.
func TestConcurrentFirstCalls(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, false)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			errs <- c.SyncUser(context.Background(), "c"+string(rune('a'+i)), "", "")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRefusedConnectionIsRetryableWithMessage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	for _, keys := range []bool{true, false} {
		c := newClient(t, url, keys)
		err := c.SyncUser(context.Background(), "u1", "", "")
		if !errors.Is(err, permitdir.ErrUnavailable) {
			t.Errorf("keys=%v: err = %v, want ErrUnavailable", keys, err)
		}
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("keys=%v: err = %v, want it to say the connection was refused", keys, err)
		}
	}
}

func TestFaultsAreRetryable(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, true)
	for _, mode := range []permit.FaultMode{permit.FaultDown, permit.Fault5xx, permit.Fault429} {
		s.SetFault(permit.Fault{Mode: mode, Scope: permit.ScopeAPI})
		if err := c.AssignRole(context.Background(), "u1", "viewer"); !errors.Is(err, permitdir.ErrUnavailable) {
			t.Errorf("fault %d: err = %v, want ErrUnavailable", mode, err)
		}
	}
	s.SetFault(permit.Fault{Mode: permit.FaultSlow, Delay: 5 * time.Second, Scope: permit.ScopeAPI})
	c2, _ := permitdir.New(permitdir.Config{APIKey: apiKey, APIURL: s.URL, Project: permit.ProjectKey,
		Environment: permit.EnvironmentKey, Timeout: 100 * time.Millisecond})
	begin := time.Now()
	if err := c2.DeleteUser(context.Background(), "u1"); !errors.Is(err, permitdir.ErrUnavailable) {
		t.Errorf("slow API: err = %v, want ErrUnavailable (timeout)", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("slow API call took %s; the 100 ms timeout did not bound it", d)
	}
	s.SetFault(permit.Fault{})
}

func ptr[T any](v T) *T { return &v }

// TestSyncUserNamesTheHolderOfATakenEmail: Permit refuses (409) an email
// another user has. That 409 used to read as "already exists", and the
// PATCH that followed failed with a bare 404 that hid the cause.
func TestSyncUserNamesTheHolderOfATakenEmail(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, true)
	ctx := context.Background()
	// The API's search matches text, so a near miss is listed too.
	for key, email := range map[string]string{"decoy": "xshared@example.com", "old": "shared@example.com", "other": "other@example.com"} {
		if err := c.SyncUser(ctx, key, email, ""); err != nil {
			t.Fatal(err)
		}
	}
	for name, tc := range map[string]struct{ key, email string }{
		"create": {"new", "Shared@example.com"},
		"update": {"other", "shared@example.com"},
	} {
		err := c.SyncUser(ctx, tc.key, tc.email, "New")
		var taken *permitdir.EmailTakenError
		if !errors.As(err, &taken) || taken.Holder != "old" || taken.Key != tc.key || taken.Email != tc.email {
			t.Fatalf("%s: SyncUser = %v, want an EmailTakenError naming old", name, err)
		}
		if errors.Is(err, permitdir.ErrUnavailable) {
			t.Errorf("%s: a taken email is marked retryable", name)
		}
	}
	if _, found := s.Email(t, "new"); found {
		t.Error("the user was created despite the taken email")
	}
	if email, _ := s.Email(t, "old"); email != "shared@example.com" {
		t.Errorf("the holder's email is now %q", email)
	}
	if email, _ := s.Email(t, "other"); email != "other@example.com" {
		t.Errorf("the updated user's email is now %q", email)
	}
}
