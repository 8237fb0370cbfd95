package permit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/permitio/permit-golang/pkg/enforcement"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
)

// grants is written out by hand from policy.json (plus the test-only
// "lead" role), not computed by the code under test.
var grants = map[string][]string{
	"viewer":  {"reports:view"},
	"analyst": {"reports:view", "reports:export"},
	"admin":   {"reports:view", "reports:export", "sync:manage", "users:manage"},
	"lead":    {"reports:view", "reports:export", "sync:manage"}, // extends analyst
	"":        nil,                                               // synced, no role
}

// seedDecisionUsers creates one user per role, all in the default tenant,
// plus "multi" (viewer in default, admin in other).
func seedDecisionUsers(t *testing.T, s *standin) {
	t.Helper()
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, *models.NewTenantCreate("other", "Other")))
	for role := range grants {
		key := "u-" + role
		must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate(key)))
		if role != "" {
			must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, key, role, "default"))
		}
	}
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("multi")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "multi", "viewer", "default"))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "multi", "admin", "other"))
}

type decisionCase struct {
	user, typ, action, tenant string
	want                      bool
}

func (c decisionCase) String() string {
	return fmt.Sprintf("%s/%s:%s@%q", c.user, c.typ, c.action, c.tenant)
}

func decisionCases() []decisionCase {
	perms := []string{"reports:view", "reports:export", "sync:manage", "users:manage", "reports:delete", "widgets:view"}
	var cases []decisionCase
	add := func(user string, byTenant map[string][]string) {
		for _, tenant := range []string{"default", "other", "", "nope"} {
			for _, p := range perms {
				typ, action, _ := strings.Cut(p, ":")
				cases = append(cases, decisionCase{user, typ, action, tenant, slices.Contains(byTenant[tenant], p)})
			}
		}
	}
	for role, g := range grants {
		add("u-"+role, map[string][]string{"default": g})
	}
	add("multi", map[string][]string{"default": grants["viewer"], "other": grants["admin"]})
	add("ghost", nil) // never synced
	return cases
}

func TestDecisionsViaSDK(t *testing.T) {
	t.Parallel()
	s := start(t)
	seedDecisionUsers(t, s)
	c := client(t, s.URL, testKey)
	for _, tc := range decisionCases() {
		// A literal Resource, not ResourceBuilder, so an empty tenant is
		// really sent empty (Build() would fill in "default").
		res := enforcement.Resource{Type: tc.typ, Key: "r-1", Tenant: tc.tenant}
		got, err := c.Check(enforcement.UserBuilder(tc.user).Build(), enforcement.Action(tc.action), res)
		if err != nil {
			t.Errorf("%v: %v", tc, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%v = %v, want %v", tc, got, tc.want)
		}
	}
}

func TestDecisionsViaBulkSDK(t *testing.T) {
	t.Parallel()
	s := start(t)
	seedDecisionUsers(t, s)
	c := client(t, s.URL, testKey)
	cases := decisionCases()
	var reqs []enforcement.CheckRequest
	for _, tc := range cases {
		res := enforcement.Resource{Type: tc.typ, Tenant: tc.tenant}
		reqs = append(reqs, *enforcement.NewCheckRequest(enforcement.UserBuilder(tc.user).Build(), enforcement.Action(tc.action), res, nil))
	}
	got, err := c.BulkCheck(reqs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		if got[i] != tc.want {
			t.Errorf("%v = %v, want %v", tc, got[i], tc.want)
		}
	}
}

func TestDecisionsViaHTTP(t *testing.T) {
	t.Parallel()
	s := start(t)
	seedDecisionUsers(t, s)
	for _, tc := range decisionCases() {
		resource := map[string]any{"type": tc.typ}
		if tc.tenant != "" {
			resource["tenant"] = tc.tenant
		}
		r := do(t, "POST", s.URL+"/allowed", testKey, map[string]any{
			"user": map[string]any{"key": tc.user}, "action": tc.action, "resource": resource,
		})
		var body struct {
			Allow, Result *bool
		}
		r.decode(t, &body)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" || body.Allow == nil || body.Result == nil {
			t.Fatalf("%v: %d %q %s", tc, r.status, r.header.Get("Content-Type"), r.body)
		}
		if *body.Allow != tc.want || *body.Result != tc.want {
			t.Errorf("%v = %s, want allow=result=%v", tc, r.body, tc.want)
		}
	}
}

func TestDecisionDebugReasons(t *testing.T) {
	t.Parallel()
	s := start(t)
	seedDecisionUsers(t, s)
	tests := []struct {
		user, typ, action, tenant, want string
	}{
		{"u-viewer", "reports", "view", "default", reasonAllowed},
		{"u-viewer", "widgets", "view", "default", reasonNoSuchResource},
		{"u-viewer", "reports", "fly", "default", reasonNoSuchAction},
		{"u-viewer", "reports", "view", "", reasonNoSuchTenant},
		{"u-viewer", "reports", "view", "nope", reasonNoSuchTenant},
		{"ghost", "reports", "view", "default", reasonUserNotSynced},
		{"u-", "reports", "view", "default", reasonNoUserRoles},
		{"u-viewer", "reports", "view", "other", reasonNoRoleInTenant},
		{"u-viewer", "reports", "export", "default", reasonNoPermission},
	}
	for _, tt := range tests {
		r := do(t, "POST", s.URL+"/allowed", testKey, map[string]any{
			"user": map[string]any{"key": tt.user}, "action": tt.action,
			"resource": map[string]any{"type": tt.typ, "tenant": tt.tenant},
		})
		var body struct {
			Debug struct{ Rbac struct{ Code string } }
		}
		r.decode(t, &body)
		if body.Debug.Rbac.Code != tt.want {
			t.Errorf("%+v: reason %q, want %q", tt, body.Debug.Rbac.Code, tt.want)
		}
	}
}

func TestPDPRejectsMalformedChecks(t *testing.T) {
	t.Parallel()
	s := start(t)
	for name, body := range map[string]string{
		"no action":        `{"user":{"key":"u"},"resource":{"type":"reports","tenant":"default"}}`,
		"no resource type": `{"user":{"key":"u"},"action":"view","resource":{"tenant":"default"}}`,
		"no user key":      `{"user":{},"action":"view","resource":{"type":"reports"}}`,
		"not json":         `{`,
	} {
		if r := do(t, "POST", s.URL+"/allowed", testKey, body); r.status != 422 {
			t.Errorf("%s: %d %s, want 422", name, r.status, r.body)
		}
	}
	if r := do(t, "POST", s.URL+"/allowed/bulk", testKey, `[{"user":{"key":"u"},"resource":{"type":"reports"}}]`); r.status != 422 {
		t.Errorf("bulk without action: %d, want 422", r.status)
	}
	// The SDK maps a PDP 422 to an error (unlike 400/429).
	c := client(t, s.URL, testKey)
	_, err := c.Check(enforcement.UserBuilder("u").Build(), "view", enforcement.Resource{Tenant: "default"})
	wantCode(t, err, perrs.UnprocessableEntityError, 422)
}

// A seeded role may extend one listed after it, as the API allows once
// both exist, and the PDP follows the whole chain.
func TestSeedExtendsLaterRole(t *testing.T) {
	sc := testSchema()
	sc.Roles[0].Extends = []string{"lead"} // viewer → lead → analyst
	s := start(t, func(c *Config) { c.Schema = sc })
	if _, err := s.ImportUsers([]ImportedUser{{Key: "u", Role: "viewer", Tenant: DefaultTenant}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"reports:view", "sync:manage", "reports:export"} {
		typ, action, _ := strings.Cut(p, ":")
		if !allowed(t, s.URL, "u", action, typ, DefaultTenant) {
			t.Errorf("viewer extending lead extending analyst: %s denied", p)
		}
	}
	if allowed(t, s.URL, "u", "manage", "users", DefaultTenant) {
		t.Error("users:manage allowed; no role in the chain grants it")
	}
}
