package logtoapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/devstack/logto"
	"reportgate/internal/fault"
	"reportgate/internal/logtoapi"
	"reportgate/internal/testkit/standin"
)

const (
	m2mID     = "m2m-app"
	m2mSecret = "m2m-secret-0123456789"
)

type env struct {
	url    string
	tokens atomic.Int64 // POST /oidc/token requests
	deny   atomic.Int64 // answer this many API calls with 401
}

// start runs the Logto stand-in with an M2M app and three seed users.
func start(t *testing.T) *env {
	t.Helper()
	e := &env{}
	e.url = standin.StartLogto(t, logto.Config{
		Apps: []logto.App{{ID: m2mID, Secret: m2mSecret, Type: logto.AppMachineToMachine}},
		SeedUsers: []logto.SeedUser{
			{Email: "a@example.com", Password: "pw-aaaaaaaa", Name: "Ada"},
			{Email: "b@example.com", Password: "pw-bbbbbbbb", Name: "Bob"},
			{Email: "c@example.com", Password: "pw-cccccccc"},
		},
	}, standin.Wrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oidc/token" {
				e.tokens.Add(1)
			}
			if strings.HasPrefix(r.URL.Path, "/api/") && e.deny.Load() > 0 {
				e.deny.Add(-1)
				http.Error(w, `{"code":"auth.unauthorized"}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})).URL
	return e
}

func newClient(t *testing.T, e *env) *logtoapi.Client {
	t.Helper()
	c, err := logtoapi.New(logtoapi.Config{Endpoint: e.url, AppID: m2mID, AppSecret: m2mSecret, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListAndGetUsers(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := newClient(t, e)
	ctx := context.Background()

	page1, total, err := c.ListUsers(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(page1) != 2 {
		t.Fatalf("page 1: %d users, total %d; want 2 of 3", len(page1), total)
	}
	page2, _, err := c.ListUsers(ctx, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2) != 1 {
		t.Fatalf("page 2: %d users, want 1", len(page2))
	}
	byEmail := map[string]string{}
	for _, u := range append(page1, page2...) {
		byEmail[u.Email] = u.Name
		got, err := c.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != u {
			t.Errorf("GetUser(%s) = %+v, list said %+v", u.ID, got, u)
		}
		if got.CreatedAt.IsZero() {
			t.Errorf("user %s has no createdAt", u.ID)
		}
	}
	if byEmail["a@example.com"] != "Ada" || byEmail["c@example.com"] != "" {
		t.Errorf("users = %v", byEmail)
	}
	// One token for all seven calls: it is cached.
	if n := e.tokens.Load(); n != 1 {
		t.Errorf("token requests = %d, want 1 (cached)", n)
	}
}

func TestGetUserNotFound(t *testing.T) {
	t.Parallel()
	c := newClient(t, start(t))
	_, err := c.GetUser(context.Background(), "nosuchuser12")
	if !errors.Is(err, logtoapi.ErrNotFound) || !errors.Is(err, fault.NotFound) {
		t.Fatalf("err = %v, want ErrNotFound of kind fault.NotFound", err)
	}
}

func TestTokenRefetchedAfter401(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := newClient(t, e)
	ctx := context.Background()
	if _, _, err := c.ListUsers(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	e.deny.Store(1) // the cached token is refused once
	if _, _, err := c.ListUsers(ctx, 1, 1); err != nil {
		t.Fatalf("after a 401: %v", err)
	}
	if n := e.tokens.Load(); n != 2 {
		t.Errorf("token requests = %d, want 2 (one refetch after the 401)", n)
	}
}

func TestCallsHaveDeadline(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // net/http notices a gone client only after the body
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	c, err := logtoapi.New(logtoapi.Config{Endpoint: hang.URL, AppID: "a", AppSecret: "b", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.GetUser(context.Background(), "x")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, fault.Unavailable) {
		t.Fatalf("err = %v, want a deadline error of kind fault.Unavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about the 100 ms timeout", d)
	}
}

func TestServerErrorIsUnavailableAndRefusalIsNot(t *testing.T) {
	t.Parallel()
	for status, unavailable := range map[int]bool{
		http.StatusServiceUnavailable: true,
		http.StatusTooManyRequests:    true,
		http.StatusForbidden:          false,
	} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oidc/token" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
				return
			}
			http.Error(w, "no", status)
		}))
		t.Cleanup(api.Close)
		c, err := logtoapi.New(logtoapi.Config{Endpoint: api.URL, AppID: "a", AppSecret: "b"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetUser(context.Background(), "x")
		if err == nil || errors.Is(err, fault.Unavailable) != unavailable {
			t.Errorf("HTTP %d: err = %v, want unavailable %v", status, err, unavailable)
		}
	}
}
