package permit

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/enforcement"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
)

// ---- propagation: driven by the fake clock, never by sleeping ----

func TestWritesReachPDPAfterDelay(t *testing.T) {
	t.Parallel()
	const delay = 5 * time.Second
	s := start(t, func(c *Config) { c.PropagationDelay = delay })
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	check := func() bool {
		t.Helper()
		ok, err := c.Check(enforcement.UserBuilder("u1").Build(), "export", enforcement.ResourceBuilder("reports").Build())
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "analyst", "default"))
	// The API already has it; the PDP does not.
	if roles := must[[]models.RoleAssignmentRead](t)(c.Api.Users.GetAssignedRoles(ctx, "u1", "default", 1, 10)); len(roles) != 1 {
		t.Fatalf("API roles = %+v", roles)
	}
	if check() {
		t.Fatal("PDP allowed before the delay")
	}
	s.clock.Advance(delay - time.Millisecond)
	if check() {
		t.Fatal("PDP allowed 1ms before the delay passed")
	}
	s.clock.Advance(time.Millisecond)
	if !check() {
		t.Fatal("PDP still denies once the delay passed")
	}

	// Schema writes propagate the same way.
	if err := c.Api.Roles.RemovePermissions(ctx, "analyst", []string{"reports:export"}); err != nil {
		t.Fatal(err)
	}
	if !check() {
		t.Fatal("permission removal visible before the delay")
	}
	s.clock.Advance(delay)
	if check() {
		t.Fatal("permission removal not visible after the delay")
	}

	// Flush ends propagation at once; a zero delay means immediate.
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "admin", "default"))
	if check() {
		t.Fatal("visible before Flush")
	}
	s.Flush()
	if !check() {
		t.Fatal("not visible after Flush")
	}
	s.SetPropagationDelay(0)
	if _, err := c.Api.Users.UnassignRole(ctx, "u1", "admin", "default"); err != nil {
		t.Fatal(err)
	}
	if check() {
		t.Fatal("with no delay, the unassignment is not visible immediately")
	}
}

// ---- faults ----

func TestFaults(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "viewer", "default"))
	user := enforcement.UserBuilder("u1").Build()
	reports := enforcement.ResourceBuilder("reports").Build()
	checkBody := map[string]any{"user": map[string]any{"key": "u1"}, "action": "view", "resource": map[string]any{"type": "reports", "tenant": "default"}}

	t.Run("5xx", func(t *testing.T) {
		s.SetFault(Fault{Mode: Fault5xx})
		defer s.SetFault(Fault{})
		if r := do(t, "POST", s.URL+"/allowed", testKey, checkBody); r.status != 502 {
			t.Errorf("PDP = %d", r.status)
		}
		r := do(t, "GET", s.URL+"/v2/facts/default/dev/users/u1", testKey, nil)
		var body map[string]any
		r.decode(t, &body)
		if r.status != 500 || body["error_code"] == nil {
			t.Errorf("API = %d %s", r.status, r.body)
		}
		_, err := c.Check(user, "view", reports)
		wantCode(t, err, perrs.UnexpectedError, 502)
		_, err = c.Api.Users.Get(ctx, "u1")
		wantCode(t, err, perrs.UnexpectedError, 500)
	})

	t.Run("429 is a silent deny in the SDK", func(t *testing.T) {
		s.SetFault(Fault{Mode: Fault429, Scope: ScopePDP})
		defer s.SetFault(Fault{})
		r := do(t, "POST", s.URL+"/allowed", testKey, checkBody)
		var body map[string]string
		r.decode(t, &body)
		if r.status != 429 || body["error"] != "rate_limited" || body["message"] == "" {
			t.Errorf("PDP = %d %s", r.status, r.body)
		}
		// The trap: the SDK treats an unlisted status as success and
		// decodes the 429 body into allow=false, with no error.
		ok, err := c.Check(user, "view", reports)
		if ok || err != nil {
			t.Errorf("SDK Check under 429 = %v, %v; want the silent (false, nil)", ok, err)
		}
		// Scope PDP leaves the API alone.
		if _, err := c.Api.Users.Get(ctx, "u1"); err != nil {
			t.Errorf("API under a PDP-only fault: %v", err)
		}
	})

	t.Run("down", func(t *testing.T) {
		s.SetFault(Fault{Mode: FaultDown, Scope: ScopePDP})
		defer s.SetFault(Fault{})
		req, _ := http.NewRequest("POST", s.URL+"/allowed", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			t.Fatalf("raw client got %d, want a transport error", res.StatusCode)
		}
		_, err = c.Check(user, "view", reports)
		wantCode(t, err, perrs.UnexpectedError, 0)
	})

	t.Run("slow honours cancellation", func(t *testing.T) {
		s.SetFault(Fault{Mode: FaultSlow, Delay: time.Hour})
		defer s.SetFault(Fault{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/allowed", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		_, err := http.DefaultClient.Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		// If the handler ignored cancellation, the server's Close at
		// cleanup would block for an hour and time the test out.
	})

	t.Run("slow then normal", func(t *testing.T) {
		s.SetFault(Fault{Mode: FaultSlow, Delay: 20 * time.Millisecond, Scope: ScopeAPI})
		defer s.SetFault(Fault{})
		begin := time.Now()
		if _, err := c.Api.Users.Get(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d < 20*time.Millisecond {
			t.Errorf("answered after %v, before the injected delay", d)
		}
	})

	if ok, err := c.Check(user, "view", reports); !ok || err != nil {
		t.Errorf("after clearing faults: %v, %v", ok, err)
	}
}

// ---- persistence ----

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	first := start(t, func(c *Config) { c.DataDir = dir; c.PropagationDelay = time.Hour })
	c := client(t, first.URL, testKey)
	must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, *models.NewTenantCreate("acme", "Acme")))
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "lead", "acme"))
	rc := *models.NewRoleCreate("auditor", "Auditor")
	rc.SetPermissions([]string{"users:manage"})
	must[*models.RoleRead](t)(c.Api.Roles.Create(ctx, rc))
	org, proj, env := first.Scope()

	// Restart with a different seed policy: the persisted schema wins.
	second := start(t, func(c *Config) { c.DataDir = dir; c.Schema.Roles = c.Schema.Roles[:1] })
	if o, p, e := second.Scope(); o != org || p != proj || e != env {
		t.Errorf("scope changed across restart")
	}
	c2 := client(t, second.URL, testKey)
	if roles := must[[]models.RoleAssignmentRead](t)(c2.Api.Users.GetAssignedRoles(ctx, "u1", "acme", 1, 10)); len(roles) != 1 || roles[0].Role != "lead" {
		t.Errorf("assignments after restart = %+v", roles)
	}
	if _, err := c2.Api.Roles.Get(ctx, "auditor"); err != nil {
		t.Errorf("created role lost: %v", err)
	}
	// What was persisted had propagated: no delay applies after restart.
	ok, err := c2.Check(enforcement.UserBuilder("u1").Build(), "manage", enforcement.ResourceBuilder("sync").WithTenant("acme").Build())
	if !ok || err != nil {
		t.Errorf("Check after restart = %v, %v", ok, err)
	}

	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{APIKey: testKey, DataDir: dir}); err == nil {
		t.Error("New accepted a corrupt state file")
	}
}

func TestInMemoryStateDoesNotPersist(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := client(t, s.URL, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(context.Background(), *models.NewUserCreate("u1")))
	again := start(t)
	_, err := client(t, again.URL, testKey).Api.Users.Get(context.Background(), "u1")
	wantCode(t, err, perrs.NotFound, 404)
}
