package permit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	"reportgate/internal/testkit"
)

const testKey = "permit_key_test_0123456789"

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// newClock is a Config.Now source that only moves when told to.
func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

type standin struct {
	*Server
	URL   string
	clock *testkit.Clock
}

// testSchema is the app's policy, written out by hand so the stand-in's
// tests do not load product code, plus a role that uses extends, which the
// app's policy does not.
func testSchema() Schema {
	return Schema{
		Resources: []Resource{
			{Key: "reports", Name: "Reports", Description: "The reports page and the files it produces.", Actions: []string{"view", "export"}},
			{Key: "sync", Name: "Sync", Description: "The job that pulls report data from upstream.", Actions: []string{"manage"}},
			{Key: "users", Name: "Users", Description: "The people who can sign in, and their roles.", Actions: []string{"manage"}},
			{Key: "audit", Name: "Audit trail", Description: "The record of who changed whose access, and of exports.", Actions: []string{"view"}},
		},
		Roles: []Role{
			{Key: "viewer", Name: "Viewer", Description: "Reads reports.", Permissions: []string{"reports:view"}},
			{Key: "analyst", Name: "Analyst", Description: "Reads and exports reports.", Permissions: []string{"reports:view", "reports:export"}},
			{Key: "admin", Name: "Admin", Description: "Everything: reports, the sync job and user management.",
				Permissions: []string{"reports:view", "reports:export", "sync:manage", "users:manage", "audit:view"}},
			{Key: "lead", Name: "Lead", Permissions: []string{"sync:manage"}, Extends: []string{"analyst"}},
		},
	}
}

// start runs a stand-in on a real listener with a fake clock.
func start(t *testing.T, mutate ...func(*Config)) *standin {
	t.Helper()
	clock := newClock()
	cfg := Config{APIKey: testKey, Schema: testSchema(), Now: clock.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &standin{Server: s, URL: srv.URL, clock: clock}
}

// client is the real SDK pointed at the stand-in for both API and PDP.
func client(t *testing.T, url, key string, ctx ...*config.PermitContext) *permit.Client {
	t.Helper()
	b := config.NewConfigBuilder(key).WithApiUrl(url).WithPdpUrl(url).WithLogger(zap.NewNop()).WithTimeout(5 * time.Second)
	if len(ctx) > 0 {
		b.WithContext(ctx[0])
	}
	return permit.New(b.Build())
}

// asPermitError extracts the SDK's error, which is a value type.
func asPermitError(t *testing.T, err error) perrs.PermitError {
	t.Helper()
	var pe perrs.PermitError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a PermitError", err, err)
	}
	return pe
}

func wantCode(t *testing.T, err error, code perrs.ErrorCode, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	pe := asPermitError(t, err)
	if pe.ErrorCode != code || pe.StatusCode != status {
		t.Fatalf("got %s/%d, want %s/%d (%v)", pe.ErrorCode, pe.StatusCode, code, status, err)
	}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a raw request; key "" sends no Authorization header.
func do(t *testing.T, method, url, key string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, data}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
