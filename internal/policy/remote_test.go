package policy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/enforcement"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
	"github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	permitstandin "reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
	"reportgate/internal/testkit/standin"
)

// These tests run the real permit-golang SDK against the Permit stand-in
// (internal/devstack/permit) on a real listener.

const apiKey = "permit_key_policy_test"

// remote is a stand-in under test and a count of the API writes it served.
type remote struct {
	URL    string
	writes atomic.Int64
}

// startRemote serves a stand-in seeded with seed. before, when set, runs
// ahead of every request with the stand-in's own handler, to simulate
// someone else writing at that moment.
func startRemote(t *testing.T, seed policy.Policy, before func(r *http.Request, inner http.Handler)) *remote {
	t.Helper()
	rm := &remote{}
	rm.URL = standin.StartPermit(t, permitstandin.Config{APIKey: apiKey, Schema: standin.PermitSchema(seed)},
		standin.Wrap(func(inner http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if before != nil {
					before(r, inner)
				}
				if r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/schema/") {
					rm.writes.Add(1)
				}
				inner.ServeHTTP(w, r)
			})
		})).URL
	return rm
}

// newClient builds an SDK client the way `reportgate policy apply` does.
// scoped passes the project and environment keys, skipping the scope call.
func newClient(url, key string, scoped bool) *permit.Client {
	b := config.NewConfigBuilder(key).
		WithApiUrl(url).
		WithPdpUrl(url).
		WithHTTPClient(&http.Client{Timeout: 10 * time.Second}).
		WithLogger(zap.NewNop())
	if scoped {
		b.WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, permitstandin.ProjectKey, permitstandin.EnvironmentKey))
	}
	return permit.New(b.Build())
}

func mustDefault(t *testing.T) policy.Policy {
	t.Helper()
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustFetch(t *testing.T, c *permit.Client) policy.Policy {
	t.Helper()
	p, err := policy.Fetch(context.Background(), c)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return p
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func strs(changes []policy.Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.String())
	}
	return out
}

func wantLines(t *testing.T, what string, got string, want []string) {
	t.Helper()
	if g := lines(got); !slices.Equal(g, want) {
		t.Errorf("%s printed:\n%s\nwant:\n%s", what, strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// inSync fails unless remote matches desired exactly (Plan with prune
// finds nothing to do).
func inSync(t *testing.T, c *permit.Client, desired policy.Policy) {
	t.Helper()
	if left := policy.Plan(mustFetch(t, c), desired, true); len(left) != 0 {
		t.Errorf("remote differs from desired: %v", left)
	}
}

func TestApplyCreatesEverythingThenNothing(t *testing.T) {
	t.Parallel()
	rm := startRemote(t, policy.Policy{}, nil)
	c := newClient(rm.URL, apiKey, true)
	ctx := context.Background()
	desired := mustDefault(t)

	var out bytes.Buffer
	changes, err := policy.Apply(ctx, c, desired, false, false, &out)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	created := []string{
		"create-resource reports: actions export, view",
		"create-resource sync: actions manage",
		"create-resource users: actions manage",
		"create-resource audit: actions view",
		"create-role viewer: permissions reports:view",
		"create-role analyst: permissions reports:export, reports:view",
		"create-role admin: permissions audit:view, reports:export, reports:view, sync:manage, users:manage",
	}
	if got := strs(changes); !slices.Equal(got, created) {
		t.Errorf("changes = %q, want %q", got, created)
	}
	wantLines(t, "first apply", out.String(), append(slices.Clone(created), "7 changes applied"))
	inSync(t, c, desired)

	// The schema works end to end: the stand-in's PDP decides with it.
	for user, role := range map[string]string{"u-admin": "admin", "u-viewer": "viewer"} {
		if _, err := c.SyncUser(ctx, *models.NewUserCreate(user)); err != nil {
			t.Fatalf("SyncUser %s: %v", user, err)
		}
		if _, err := c.Api.Users.AssignRole(ctx, user, role, permitstandin.DefaultTenant); err != nil {
			t.Fatalf("AssignRole %s %s: %v", user, role, err)
		}
	}
	for _, tc := range []struct {
		user, action, resource string
		want                   bool
	}{
		{"u-admin", "manage", "sync", true},
		{"u-admin", "export", "reports", true},
		{"u-viewer", "view", "reports", true},
		{"u-viewer", "manage", "sync", false},
	} {
		got, err := c.Check(enforcement.UserBuilder(tc.user).Build(), enforcement.Action(tc.action),
			enforcement.ResourceBuilder(tc.resource).Build())
		if err != nil {
			t.Fatalf("Check %s %s:%s: %v", tc.user, tc.resource, tc.action, err)
		}
		if got != tc.want {
			t.Errorf("Check %s %s:%s = %v, want %v", tc.user, tc.resource, tc.action, got, tc.want)
		}
	}

	writes := rm.writes.Load()
	out.Reset()
	changes, err = policy.Apply(ctx, c, desired, false, false, &out)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if len(changes) != 0 {
		t.Errorf("second Apply changed %v, want nothing", strs(changes))
	}
	wantLines(t, "second apply", out.String(), []string{"no changes"})
	if got := rm.writes.Load() - writes; got != 0 {
		t.Errorf("second Apply made %d schema writes, want 0", got)
	}
}

func TestApplyDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	rm := startRemote(t, policy.Policy{}, nil)
	c := newClient(rm.URL, apiKey, true)

	var out bytes.Buffer
	changes, err := policy.Apply(context.Background(), c, mustDefault(t), true, true, &out)
	if err != nil {
		t.Fatalf("Apply dry run: %v", err)
	}
	if len(changes) != 7 {
		t.Errorf("dry run planned %d changes, want 7: %v", len(changes), strs(changes))
	}
	wantLines(t, "dry run", out.String(), append(strs(changes), "dry run: 7 changes planned, nothing written"))
	if got := rm.writes.Load(); got != 0 {
		t.Errorf("dry run made %d schema writes, want 0", got)
	}
	if p := mustFetch(t, c); len(p.Resources) != 0 || len(p.Roles) != 0 {
		t.Errorf("after dry run the remote holds %+v, want nothing", p)
	}
}

// TestApplyDrift starts from an environment that drifted from the policy
// in both directions. Without prune only what is missing is added; with
// prune the extras go too.
func TestApplyDrift(t *testing.T) {
	t.Parallel()
	desired := mustDefault(t)
	// A role that extends another, to exercise AddParentRole (the shipped
	// policy has none).
	desired.Roles = append(desired.Roles, policy.Role{
		Key: "lead", Name: "Lead", Permissions: []string{"sync:manage"}, Extends: []string{"analyst"},
	})

	drifted := mustDefault(t)
	drifted.Resources[0].Actions = []string{"view", "audit"} // reports: export missing, audit extra
	drifted.Resources = append(drifted.Resources, policy.Resource{Key: "billing", Name: "Billing", Actions: []string{"view"}})
	for i, r := range drifted.Roles {
		r.Permissions = slices.DeleteFunc(slices.Clone(r.Permissions), func(p string) bool { return p == "reports:export" })
		switch r.Key {
		case "viewer":
			r.Permissions = append(r.Permissions, "sync:manage") // extra
		case "analyst":
			r.Extends = []string{"viewer"} // extra
		}
		drifted.Roles[i] = r
	}
	drifted.Roles = append(drifted.Roles,
		policy.Role{Key: "lead", Name: "Lead", Permissions: []string{"sync:manage"}},
		policy.Role{Key: "auditor", Name: "Auditor", Permissions: []string{"reports:audit"}},
	)

	rm := startRemote(t, drifted, nil)
	c := newClient(rm.URL, apiKey, true)
	ctx := context.Background()

	var out bytes.Buffer
	if _, err := policy.Apply(ctx, c, desired, false, false, &out); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantLines(t, "apply", out.String(), []string{
		"update-resource reports: add actions export",
		"update-role analyst: add permissions reports:export",
		"update-role admin: add permissions reports:export",
		"update-role lead: add extends analyst",
		"4 changes applied",
	})
	got := mustFetch(t, c)
	if left := policy.Plan(got, desired, false); len(left) != 0 {
		t.Errorf("after apply, Plan without prune = %v, want nothing", left)
	}
	reports, _ := got.Resource("reports")
	if !slices.Equal(reports.Actions, []string{"audit", "export", "view"}) {
		t.Errorf("reports actions = %v, want the extra audit kept beside view and export", reports.Actions)
	}
	if v, _ := got.Role("viewer"); !slices.Contains(v.Permissions, "sync:manage") {
		t.Errorf("viewer permissions = %v, want the extra sync:manage kept without --prune", v.Permissions)
	}
	if a, _ := got.Role("auditor"); !slices.Equal(a.Permissions, []string{"reports:audit"}) {
		t.Errorf("auditor = %+v, want it kept with reports:audit", a)
	}
	if _, ok := got.Resource("billing"); !ok {
		t.Error("billing resource deleted without --prune")
	}

	out.Reset()
	if _, err := policy.Apply(ctx, c, desired, true, false, &out); err != nil {
		t.Fatalf("Apply --prune: %v", err)
	}
	wantLines(t, "apply --prune", out.String(), []string{
		"update-resource reports: remove actions audit",
		"update-role viewer: remove permissions sync:manage",
		"update-role analyst: remove extends viewer",
		"delete-role auditor",
		"delete-resource billing",
		"5 changes applied",
	})
	inSync(t, c, desired)
}

// TestApplyCreateConflict has someone create a role between Fetch and
// Create: the 409 turns into an update of what they created.
func TestApplyCreateConflict(t *testing.T) {
	t.Parallel()
	var once sync.Once
	racer := func(r *http.Request, inner http.Handler) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/roles") {
			return
		}
		once.Do(func() {
			body := `{"key":"viewer","name":"Viewer (by hand)","permissions":["reports:view","sync:manage"]}`
			req := httptest.NewRequest(http.MethodPost, r.URL.Path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("racing create: %d %s", rec.Code, rec.Body)
			}
		})
	}
	rm := startRemote(t, policy.Policy{}, racer)
	c := newClient(rm.URL, apiKey, true)
	desired := mustDefault(t)

	var out bytes.Buffer
	changes, err := policy.Apply(context.Background(), c, desired, false, false, &out)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	i := slices.IndexFunc(changes, func(ch policy.Change) bool { return ch.Key == "viewer" })
	if i < 0 || changes[i].Kind != policy.UpdateRole || !strings.Contains(changes[i].Detail, "409") ||
		!strings.Contains(changes[i].Detail, `name "Viewer (by hand)" -> "Viewer"`) {
		t.Errorf("changes = %q, want viewer updated after a 409", strs(changes))
	}
	if !strings.Contains(out.String(), "7 changes applied\n") {
		t.Errorf("output:\n%s\nwant 7 changes applied", out.String())
	}
	got := mustFetch(t, c)
	v, _ := got.Role("viewer")
	if v.Name != "Viewer" || v.Description != "Reads reports." || !slices.Contains(v.Permissions, "sync:manage") {
		t.Errorf("viewer = %+v, want name and description fixed, the racer's extra permission kept", v)
	}
	if left := policy.Plan(got, desired, false); len(left) != 0 {
		t.Errorf("after apply, Plan = %v, want nothing", left)
	}
}

func TestApplyWrongAPIKey(t *testing.T) {
	t.Parallel()
	rm := startRemote(t, policy.Policy{}, nil)
	for _, tc := range []struct {
		name   string
		scoped bool
		code   perrs.ErrorCode
	}{
		{"with project and environment", true, perrs.ForbiddenAccess},
		{"through the scope call", false, perrs.ContextError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(rm.URL, "permit_key_wrong", tc.scoped)
			var out bytes.Buffer
			_, err := policy.Apply(context.Background(), c, mustDefault(t), false, false, &out)
			if err == nil {
				t.Fatal("Apply with a wrong key succeeded")
			}
			var pe perrs.PermitError
			if !errors.As(err, &pe) || pe.ErrorCode != tc.code {
				t.Errorf("error %v: want a PermitError %s", err, tc.code)
			}
			if !strings.Contains(err.Error(), "PERMIT_API_KEY") {
				t.Errorf("error %q does not point at PERMIT_API_KEY", err)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before failing", out.String())
			}
		})
	}
	if got := rm.writes.Load(); got != 0 {
		t.Errorf("%d schema writes with a wrong key", got)
	}
}

// TestFetchPages makes both lists longer than one page of 100.
func TestFetchPages(t *testing.T) {
	t.Parallel()
	var seed policy.Policy
	for i := range 150 {
		seed.Resources = append(seed.Resources, policy.Resource{Key: fmt.Sprintf("r%03d", i), Name: "R", Actions: []string{"read"}})
	}
	for i := range 120 {
		seed.Roles = append(seed.Roles, policy.Role{Key: fmt.Sprintf("role%03d", i), Name: "Role", Permissions: []string{"r000:read"}})
	}
	rm := startRemote(t, seed, nil)
	got := mustFetch(t, newClient(rm.URL, apiKey, true))
	if len(got.Resources) != 150 || len(got.Roles) != 120 {
		t.Fatalf("Fetch returned %d resources and %d roles, want 150 and 120", len(got.Resources), len(got.Roles))
	}
	if left := policy.Plan(got, seed, true); len(left) != 0 {
		t.Errorf("Fetch differs from the seed: %v", left)
	}
}
