package standin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
)

// Option changes how a stand-in is served.
type Option func(*options)

type options struct {
	wrap func(http.Handler) http.Handler
}

// Wrap serves every request through wrap, which is given the stand-in's
// own handler: to count requests, hold them, or answer some itself.
func Wrap(wrap func(inner http.Handler) http.Handler) Option {
	return func(o *options) { o.wrap = wrap }
}

// serve starts an already listening server with h, wrapped as opts say.
func serve(hs *httptest.Server, h http.Handler, opts []Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.wrap != nil {
		h = o.wrap(h)
	}
	hs.Config.Handler = h
	hs.Start()
}

// Logto is a running Logto stand-in.
type Logto struct {
	*logto.Server
	// URL is its endpoint (no trailing slash).
	URL string
	// HTTP is its listener; closing it early makes Logto unreachable.
	HTTP *httptest.Server
}

// StartLogto runs a Logto stand-in built from cfg, whose Endpoint is set to
// the stand-in's own URL (known only once it listens, and the issuer of its
// tokens must match it).
func StartLogto(t testing.TB, cfg logto.Config, opts ...Option) *Logto {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	l := &Logto{URL: "http://" + hs.Listener.Addr().String(), HTTP: hs}
	cfg.Endpoint = l.URL
	srv, err := logto.New(cfg)
	if err != nil {
		hs.Close()
		t.Fatalf("Logto stand-in: %v", err)
	}
	l.Server = srv
	serve(hs, srv.Handler(), opts)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close Logto stand-in: %v", err)
		}
	})
	return l
}

// Permit is a running Permit stand-in: the API and the PDP on one listener.
type Permit struct {
	*permit.Server
	// URL is its base URL, without a trailing slash: the SDK fails every
	// call with one.
	URL string
	// APIKey is the key it accepts.
	APIKey string
	HTTP   *httptest.Server
}

// StartPermit runs a Permit stand-in built from cfg.
func StartPermit(t testing.TB, cfg permit.Config, opts ...Option) *Permit {
	t.Helper()
	srv, err := permit.New(cfg)
	if err != nil {
		t.Fatalf("Permit stand-in: %v", err)
	}
	hs := httptest.NewUnstartedServer(nil)
	serve(hs, srv.Handler(), opts)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close Permit stand-in: %v", err)
		}
	})
	return &Permit{Server: srv, URL: hs.URL, APIKey: cfg.APIKey, HTTP: hs}
}

// DefaultSchema is the policy shipped inside the binary as the Permit
// stand-in's schema, the usual seed of a stand-in.
func DefaultSchema(t testing.TB) permit.Schema {
	t.Helper()
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return PermitSchema(p)
}

// Email reads a Permit user's email straight from the stand-in's API, not
// through the code under test; found is false when there is no such user.
func (p *Permit) Email(t testing.TB, key string) (email string, found bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		p.URL+"/v2/facts/"+permit.ProjectKey+"/"+permit.EnvironmentKey+"/users/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", false
	}
	var u struct{ Email *string }
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("get Permit user %s: %d %v", key, resp.StatusCode, err)
	}
	if u.Email == nil {
		return "", true
	}
	return *u.Email, true
}
