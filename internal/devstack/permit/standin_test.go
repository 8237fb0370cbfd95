package permit

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/models"
)

func TestControlsNeedTheAPIKey(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "fault"}, {"PUT", "fault"}, {"GET", "propagation"}, {"PUT", "propagation"},
		{"POST", "propagation/flush"}, {"GET", "counts"},
	} {
		if r := do(t, c.method, s.URL+ControlPrefix+c.path, "", `{"mode":"5xx","delay":"1s"}`); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d, want 401", c.method, c.path, r.status)
		}
		if r := do(t, c.method, s.URL+ControlPrefix+c.path, "wrong", `{"mode":"5xx","delay":"1s"}`); r.status != http.StatusForbidden {
			t.Errorf("%s %s with a wrong key: %d, want 403", c.method, c.path, r.status)
		}
	}
	if f := s.faultJSON(); f.Mode != "none" {
		t.Errorf("an unauthorised PUT changed the fault to %+v", f)
	}
}

func TestFaultControl(t *testing.T) {
	t.Parallel()
	s := start(t)
	check := `{"user":{"key":"u1"},"action":"view","resource":{"type":"reports","tenant":"default"}}`
	for _, c := range []struct {
		mode   string
		status int
	}{{"5xx", http.StatusBadGateway}, {"429", http.StatusTooManyRequests}, {"none", http.StatusOK}} {
		r := do(t, "PUT", s.URL+ControlPrefix+"fault", testKey, map[string]string{"mode": c.mode})
		var got faultJSON
		r.decode(t, &got)
		if r.status != http.StatusOK || got.Mode != c.mode {
			t.Fatalf("PUT fault %s: %d %s", c.mode, r.status, r.body)
		}
		if r := do(t, "POST", s.URL+"/allowed", testKey, check); r.status != c.status {
			t.Errorf("with fault %s, /allowed answered %d, want %d", c.mode, r.status, c.status)
		}
	}
	// "down" resets PDP and API connections, but not the controls.
	do(t, "PUT", s.URL+ControlPrefix+"fault", testKey, map[string]string{"mode": "down", "scope": "api"})
	if _, err := http.Get(s.URL + "/v2/api-key/scope"); err == nil {
		t.Error("fault down: the API still answers")
	}
	if r := do(t, "GET", s.URL+ControlPrefix+"fault", testKey, nil); r.status != http.StatusOK {
		t.Errorf("GET fault while down: %d", r.status)
	}
	if r := do(t, "PUT", s.URL+ControlPrefix+"fault", testKey, map[string]string{"mode": "slow", "delay": "soon"}); r.status != http.StatusBadRequest {
		t.Errorf("bad delay: %d, want 400", r.status)
	}
	if r := do(t, "PUT", s.URL+ControlPrefix+"fault", testKey, map[string]string{"mode": "slow", "delay": "1ms"}); r.status != http.StatusOK {
		t.Errorf("slow: %d %s", r.status, r.body)
	}
	if f := s.fault.Load(); f.Mode != FaultSlow || f.Delay != time.Millisecond || f.Scope != ScopeAll {
		t.Errorf("fault after PUT slow = %+v", *f)
	}
}

func TestPropagationControl(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	if r := do(t, "PUT", s.URL+ControlPrefix+"propagation", testKey, map[string]string{"delay": "1m"}); r.status != http.StatusOK {
		t.Fatalf("PUT propagation: %d %s", r.status, r.body)
	}
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "viewer", "default"))
	var p propagationJSON
	do(t, "GET", s.URL+ControlPrefix+"propagation", testKey, nil).decode(t, &p)
	if p.Delay != "1m0s" || p.Pending != 2 {
		t.Errorf("GET propagation = %+v, want 1m0s with 2 pending", p)
	}
	if allowed(t, s.URL, "u1", "view", "reports", "default") {
		t.Fatal("visible before the delay set over HTTP")
	}
	do(t, "POST", s.URL+ControlPrefix+"propagation/flush", testKey, nil).decode(t, &p)
	if p.Pending != 0 || !allowed(t, s.URL, "u1", "view", "reports", "default") {
		t.Errorf("after flush: %+v, and the write is visible: %v", p, allowed(t, s.URL, "u1", "view", "reports", "default"))
	}
}

func TestCountsControl(t *testing.T) {
	t.Parallel()
	s := start(t)
	allowed(t, s.URL, "u1", "view", "reports", "default")
	allowed(t, s.URL, "u1", "view", "reports", "default")
	var got countsJSON
	do(t, "GET", s.URL+ControlPrefix+"counts", testKey, nil).decode(t, &got)
	if got.Allowed != 2 || got.API != 0 {
		t.Errorf("counts = %+v, want 2 /allowed and no API call", got)
	}
}
