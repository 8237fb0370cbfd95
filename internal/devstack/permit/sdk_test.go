package permit

import (
	"context"
	"slices"
	"testing"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/enforcement"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
)

// These tests drive the real permit-golang v1.2.8 SDK against the stand-in
// and assert what the SDK hands back: a shape the SDK cannot decode fails
// here, not in the app.

func TestSDKUsers(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)

	// SyncUser, create path: GET → 404 → POST, after the lazy scope call.
	in := *models.NewUserCreate("u1")
	in.SetEmail("u1@example.com")
	in.SetFirstName("Ada")
	before := s.Counts().API
	created, err := c.SyncUser(ctx, in)
	if err != nil {
		t.Fatalf("SyncUser create: %v", err)
	}
	if got := s.Counts().API - before; got != 3 {
		t.Errorf("SyncUser create made %d API calls, want 3 (scope, GET, POST)", got)
	}
	if created.Key != "u1" || created.GetEmail() != "u1@example.com" || created.GetFirstName() != "Ada" || !hex32.MatchString(created.Id) {
		t.Errorf("created = %+v", created)
	}
	_, proj, env := s.Scope()
	if created.ProjectId != proj || created.EnvironmentId != env {
		t.Errorf("ids %s/%s, want %s/%s", created.ProjectId, created.EnvironmentId, proj, env)
	}

	// SyncUser, update path: GET → PATCH, only non-empty fields sent.
	in2 := *models.NewUserCreate("u1")
	in2.SetLastName("Lovelace")
	before = s.Counts().API
	updated, err := c.SyncUser(ctx, in2)
	if err != nil {
		t.Fatalf("SyncUser update: %v", err)
	}
	if got := s.Counts().API - before; got != 2 {
		t.Errorf("SyncUser update made %d API calls, want 2 (GET, PATCH)", got)
	}
	if updated.Id != created.Id || updated.GetLastName() != "Lovelace" || updated.GetFirstName() != "Ada" || updated.GetEmail() != "u1@example.com" {
		t.Errorf("updated = %+v, want same id, last name set, others kept", updated)
	}

	_, err = c.Api.Users.Create(ctx, *models.NewUserCreate("u1"))
	wantCode(t, err, perrs.Conflict, 409)

	_, err = c.Api.Users.Get(ctx, "ghost")
	wantCode(t, err, perrs.NotFound, 404)

	bad := *models.NewUserCreate("u2")
	bad.SetEmail("not-an-email")
	_, err = c.Api.Users.Create(ctx, bad)
	wantCode(t, err, perrs.UnprocessableEntityError, 422)

	upd := *models.NewUserUpdate()
	upd.SetFirstName("Augusta")
	upd.SetAttributes(map[string]interface{}{"plan": "pro"})
	u, err := c.Api.Users.Update(ctx, "u1", upd)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if u.GetFirstName() != "Augusta" || u.Attributes["plan"] != "pro" {
		t.Errorf("after Update = %+v", u)
	}
	got := must[*models.UserRead](t)(c.Api.Users.Get(ctx, "u1"))
	if got.GetFirstName() != "Augusta" {
		t.Errorf("Get after Update: first name %q", got.GetFirstName())
	}
	// Ids work wherever keys do.
	if byID := must[*models.UserRead](t)(c.Api.Users.Get(ctx, created.Id)); byID.Key != "u1" {
		t.Errorf("Get by id = %q", byID.Key)
	}

	for _, k := range []string{"u3", "u4"} {
		must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate(k)))
	}
	list := must[[]models.UserRead](t)(c.Api.Users.List(ctx, 1, 100))
	var keys []string
	for _, u := range list {
		keys = append(keys, u.Key)
	}
	if !slices.Equal(keys, []string{"u1", "u3", "u4"}) {
		t.Errorf("List = %v", keys)
	}
	page2 := must[[]models.UserRead](t)(c.Api.Users.List(ctx, 2, 2))
	if len(page2) != 1 || page2[0].Key != "u4" {
		t.Errorf("List page 2 of 2 = %+v", page2)
	}

	if err := c.Api.Users.Delete(ctx, "u3"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = c.Api.Users.Get(ctx, "u3")
	wantCode(t, err, perrs.NotFound, 404)
	wantCode(t, c.Api.Users.Delete(ctx, "u3"), perrs.NotFound, 404)
}

func TestSDKRoleAssignments(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, *models.NewTenantCreate("acme", "Acme")))

	ra, err := c.Api.Users.AssignRole(ctx, "u1", "viewer", "default")
	if err != nil {
		t.Fatalf("AssignRole: %v", err)
	}
	if ra == nil || ra.User != "u1" || ra.Role != "viewer" || ra.Tenant != "default" ||
		!hex32.MatchString(ra.Id) || !hex32.MatchString(ra.UserId) || !hex32.MatchString(ra.RoleId) ||
		!hex32.MatchString(ra.TenantId) || ra.CreatedAt.IsZero() {
		t.Fatalf("AssignRole = %+v", ra)
	}
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "admin", "acme"))

	_, err = c.Api.Users.AssignRole(ctx, "u1", "viewer", "default")
	wantCode(t, err, perrs.Conflict, 409)
	_, err = c.Api.Users.AssignRole(ctx, "u1", "ghost-role", "default")
	wantCode(t, err, perrs.NotFound, 404)
	_, err = c.Api.Users.AssignRole(ctx, "u1", "viewer", "ghost-tenant")
	wantCode(t, err, perrs.NotFound, 404)
	_, err = c.Api.Users.AssignRole(ctx, "ghost-user", "viewer", "default")
	wantCode(t, err, perrs.NotFound, 404)

	roles := must[[]models.RoleAssignmentRead](t)(c.Api.Users.GetAssignedRoles(ctx, "u1", "default", 1, 100))
	if len(roles) != 1 || roles[0].Role != "viewer" || roles[0].Tenant != "default" {
		t.Errorf("GetAssignedRoles(default) = %+v", roles)
	}
	all := must[*[]models.RoleAssignmentRead](t)(c.Api.RoleAssignments.List(ctx, 1, 100, "u1", "", ""))
	if len(*all) != 2 {
		t.Errorf("RoleAssignments.List = %+v", *all)
	}
	detailed := must[*[]models.RoleAssignmentDetailedRead](t)(c.Api.RoleAssignments.ListDetailed(ctx, 1, 100, "", "admin", ""))
	if len(*detailed) != 1 || (*detailed)[0].User.Key != "u1" || (*detailed)[0].Tenant.Key != "acme" {
		t.Errorf("ListDetailed = %+v", *detailed)
	}

	u := must[*models.UserRead](t)(c.Api.Users.Get(ctx, "u1"))
	if !slices.ContainsFunc(u.Roles, func(r models.UserRole) bool { return r.Role == "admin" && r.Tenant == "acme" }) {
		t.Errorf("user roles = %+v", u.Roles)
	}

	// 204 with no body: the SDK returns (nil, nil).
	if out, err := c.Api.Users.UnassignRole(ctx, "u1", "viewer", "default"); err != nil || out != nil {
		t.Fatalf("UnassignRole = %v, %v", out, err)
	}
	roles = must[[]models.RoleAssignmentRead](t)(c.Api.Users.GetAssignedRoles(ctx, "u1", "default", 1, 100))
	if len(roles) != 0 {
		t.Errorf("after unassign = %+v", roles)
	}
	_, err = c.Api.Users.UnassignRole(ctx, "u1", "viewer", "default")
	wantCode(t, err, perrs.NotFound, 404)

	// Bulk, Node-style: duplicates are skipped, not errors.
	a := *models.NewRoleAssignmentCreate("analyst", "default", "u1")
	rep := must[*models.BulkRoleAssignmentReport](t)(c.Api.Roles.BulkAssignRole(ctx, []models.RoleAssignmentCreate{a, a}))
	if rep.GetAssignmentsCreated() != 1 {
		t.Errorf("BulkAssignRole created %d, want 1", rep.GetAssignmentsCreated())
	}
	rm := *models.NewRoleAssignmentRemove("analyst", "default", "u1")
	unrep := must[*models.BulkRoleUnAssignmentReport](t)(c.Api.Roles.BulkUnAssignRole(ctx, []models.RoleAssignmentRemove{rm}))
	if unrep.GetAssignmentsRemoved() != 1 {
		t.Errorf("BulkUnAssignRole removed %d, want 1", unrep.GetAssignmentsRemoved())
	}

	// Deleting a user removes its assignments.
	if err := c.Api.Users.Delete(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	// SDK trap: an empty array matches the detailed variant first, so
	// RoleAssignments.List returns a nil pointer, not an empty slice.
	left := must[*[]models.RoleAssignmentRead](t)(c.Api.RoleAssignments.List(ctx, 1, 100, "", "", ""))
	if left != nil && len(*left) != 0 {
		t.Errorf("assignments after user delete = %+v", *left)
	}
}

func TestSDKTenants(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)

	def := must[*models.TenantRead](t)(c.Api.Tenants.Get(ctx, "default"))
	if def.Key != "default" || !hex32.MatchString(def.Id) {
		t.Errorf("default tenant = %+v", def)
	}
	in := *models.NewTenantCreate("acme", "Acme Inc")
	in.SetAttributes(map[string]interface{}{"tier": "gold"})
	created := must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, in))
	if created.Key != "acme" || created.Name != "Acme Inc" || created.Attributes["tier"] != "gold" || created.CreatedAt.IsZero() {
		t.Errorf("Create = %+v", created)
	}
	if got := must[*models.TenantRead](t)(c.Api.Tenants.Get(ctx, "acme")); got.Id != created.Id {
		t.Errorf("Get = %+v", got)
	}
	_, err := c.Api.Tenants.Create(ctx, in)
	wantCode(t, err, perrs.Conflict, 409)
	_, err = c.Api.Tenants.Get(ctx, "ghost")
	wantCode(t, err, perrs.NotFound, 404)

	list := must[[]models.TenantRead](t)(c.Api.Tenants.List(ctx, 1, 100))
	// Lists are ordered by creation time, then key; the fake clock ties them.
	if len(list) != 2 || list[0].Key != "acme" || list[1].Key != "default" {
		t.Errorf("List = %+v", list)
	}
	if err := c.Api.Tenants.Delete(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Api.Tenants.Get(ctx, "acme")
	wantCode(t, err, perrs.NotFound, 404)
}

// TestSDKSchema covers every call `policy apply` makes.
func TestSDKSchema(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)

	res := must[*models.ResourceRead](t)(c.Api.Resources.Create(ctx,
		*models.NewResourceCreate("dashboards", "Dashboards", map[string]models.ActionBlockEditable{"read": {}, "share": {}})))
	if res.Key != "dashboards" || len(res.GetActions()) != 2 || !hex32.MatchString(res.GetActions()["read"].Id) {
		t.Fatalf("Resources.Create = %+v", res)
	}
	_, err := c.Api.Resources.Create(ctx, *models.NewResourceCreate("dashboards", "Dup", map[string]models.ActionBlockEditable{}))
	wantCode(t, err, perrs.Conflict, 409)
	_, err = c.Api.Resources.Get(ctx, "ghost")
	wantCode(t, err, perrs.NotFound, 404)

	upd := *models.NewResourceUpdate()
	upd.SetName("Boards")
	upd.SetActions(map[string]models.ActionBlockEditable{"read": {}, "share": {}, "delete": {}})
	res = must[*models.ResourceRead](t)(c.Api.Resources.Update(ctx, "dashboards", upd))
	if res.Name != "Boards" || len(res.GetActions()) != 3 {
		t.Errorf("Resources.Update = %+v", res)
	}
	if got := must[*models.ResourceRead](t)(c.Api.Resources.Get(ctx, "dashboards")); got.Name != "Boards" {
		t.Errorf("Resources.Get = %+v", got)
	}
	var resKeys []string
	for _, r := range must[[]models.ResourceRead](t)(c.Api.Resources.List(ctx, 1, 100)) {
		resKeys = append(resKeys, r.Key)
	}
	slices.Sort(resKeys)
	if !slices.Equal(resKeys, []string{"audit", "dashboards", "reports", "sync", "users"}) {
		t.Errorf("Resources.List = %v", resKeys)
	}

	rc := *models.NewRoleCreate("dash-reader", "Dashboard reader")
	rc.SetPermissions([]string{"dashboards:read"})
	role := must[*models.RoleRead](t)(c.Api.Roles.Create(ctx, rc))
	if role.Key != "dash-reader" || !slices.Equal(role.Permissions, []string{"dashboards:read"}) {
		t.Fatalf("Roles.Create = %+v", role)
	}
	_, err = c.Api.Roles.Create(ctx, rc)
	wantCode(t, err, perrs.Conflict, 409)
	bad := *models.NewRoleCreate("bad", "Bad")
	bad.SetPermissions([]string{"dashboards:fly"})
	_, err = c.Api.Roles.Create(ctx, bad)
	wantCode(t, err, perrs.NotFound, 404)

	ru := *models.NewRoleUpdate()
	ru.SetDescription("reads dashboards")
	role = must[*models.RoleRead](t)(c.Api.Roles.Update(ctx, "dash-reader", ru))
	if role.GetDescription() != "reads dashboards" || len(role.Permissions) != 1 {
		t.Errorf("Roles.Update = %+v (PATCH must keep unsent fields)", role)
	}
	if err := c.Api.Roles.AssignPermissions(ctx, "dash-reader", []string{"dashboards:share", "dashboards:read"}); err != nil {
		t.Fatalf("AssignPermissions: %v", err)
	}
	if err := c.Api.Roles.AssignPermissions(ctx, "dash-reader", []string{"nope:nope"}); err == nil {
		t.Error("AssignPermissions with an unknown permission succeeded")
	}
	role = must[*models.RoleRead](t)(c.Api.Roles.Get(ctx, "dash-reader"))
	if got := slices.Sorted(slices.Values(role.Permissions)); !slices.Equal(got, []string{"dashboards:read", "dashboards:share"}) {
		t.Errorf("after AssignPermissions = %v", got)
	}
	if err := c.Api.Roles.RemovePermissions(ctx, "dash-reader", []string{"dashboards:share"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Api.Roles.AddParentRole(ctx, "dash-reader", "viewer"); err != nil {
		t.Fatalf("AddParentRole: %v", err)
	}
	role = must[*models.RoleRead](t)(c.Api.Roles.Get(ctx, "dash-reader"))
	if !slices.Equal(role.Permissions, []string{"dashboards:read"}) || !slices.Equal(role.Extends, []string{"viewer"}) {
		t.Errorf("role = perms %v extends %v", role.Permissions, role.Extends)
	}
	// A cycle is refused.
	wantCode(t, c.Api.Roles.AddParentRole(ctx, "viewer", "dash-reader"), perrs.UnexpectedError, 400)

	// Removing an action drops the permissions that named it.
	upd = *models.NewResourceUpdate()
	upd.SetActions(map[string]models.ActionBlockEditable{"share": {}})
	must[*models.ResourceRead](t)(c.Api.Resources.Update(ctx, "dashboards", upd))
	if role = must[*models.RoleRead](t)(c.Api.Roles.Get(ctx, "dash-reader")); len(role.Permissions) != 0 {
		t.Errorf("permissions after action removal = %v", role.Permissions)
	}

	var roleKeys []string
	for _, r := range must[[]models.RoleRead](t)(c.Api.Roles.List(ctx, 1, 100)) {
		roleKeys = append(roleKeys, r.Key)
	}
	slices.Sort(roleKeys)
	if !slices.Equal(roleKeys, []string{"admin", "analyst", "dash-reader", "lead", "viewer"}) {
		t.Errorf("Roles.List = %v", roleKeys)
	}
	seeded := must[*models.RoleRead](t)(c.Api.Roles.Get(ctx, "lead"))
	if !slices.Equal(seeded.Extends, []string{"analyst"}) {
		t.Errorf("seeded lead extends %v", seeded.Extends)
	}
}

func TestSDKEnforcement(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, *models.NewTenantCreate("acme", "Acme")))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "viewer", "default"))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "lead", "acme"))

	user := enforcement.UserBuilder("u1").Build()
	ok, err := c.Check(user, "view", enforcement.ResourceBuilder("reports").Build())
	if err != nil || !ok {
		t.Errorf("Check view in default = %v, %v", ok, err)
	}
	ok, err = c.Check(user, "export", enforcement.ResourceBuilder("reports").WithKey("r-1").Build())
	if err != nil || ok {
		t.Errorf("Check export in default = %v, %v; want deny", ok, err)
	}

	// BulkCheck: one HTTP call per distinct tenant, results in input order.
	reqs := []enforcement.CheckRequest{
		*enforcement.NewCheckRequest(user, "export", enforcement.ResourceBuilder("reports").WithTenant("acme").Build(), nil),
		*enforcement.NewCheckRequest(user, "export", enforcement.ResourceBuilder("reports").Build(), nil),
		*enforcement.NewCheckRequest(user, "manage", enforcement.ResourceBuilder("sync").WithTenant("acme").Build(), nil),
		*enforcement.NewCheckRequest(user, "view", enforcement.ResourceBuilder("reports").Build(), nil),
	}
	before := s.Counts().Bulk
	got, err := c.BulkCheck(reqs...)
	if err != nil {
		t.Fatalf("BulkCheck: %v", err)
	}
	if want := []bool{true, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("BulkCheck = %v, want %v", got, want)
	}
	if n := s.Counts().Bulk - before; n != 2 {
		t.Errorf("BulkCheck made %d calls, want 2 (one per tenant)", n)
	}

	perms, err := c.GetUserPermissions(user)
	if err != nil {
		t.Fatalf("GetUserPermissions: %v", err)
	}
	if len(perms) != 2 {
		t.Fatalf("GetUserPermissions = %+v", perms)
	}
	acme := perms["__tenant:acme"]
	if acme.Tenant.Key != "acme" || !slices.Equal(acme.Roles, []string{"lead"}) ||
		!slices.Equal(acme.Permissions, []string{"reports:export", "reports:view", "sync:manage"}) {
		t.Errorf("acme permissions = %+v", acme)
	}
	only, err := c.GetUserPermissions(user, "default")
	if err != nil || len(only) != 1 || !slices.Equal(only["__tenant:default"].Permissions, []string{"reports:view"}) {
		t.Errorf("GetUserPermissions(default) = %+v, %v", only, err)
	}
	none, err := c.GetUserPermissions(enforcement.UserBuilder("ghost").Build())
	if err != nil || len(none) != 0 {
		t.Errorf("GetUserPermissions(ghost) = %+v, %v", none, err)
	}

	tenants, err := c.AllTenantsCheck(user, "manage", enforcement.ResourceBuilder("sync").Build())
	if err != nil || len(tenants) != 1 || tenants[0].Key != "acme" {
		t.Errorf("AllTenantsCheck = %+v, %v", tenants, err)
	}
}

func TestSDKAuth(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	_, proj, env := s.Scope()

	// Skipping the scope call shows the plain 403 mapping; keys and ids
	// are both accepted in the path.
	for _, pc := range []*config.PermitContext{
		config.NewPermitContext(config.EnvironmentAPIKeyLevel, ProjectKey, EnvironmentKey),
		config.NewPermitContext(config.EnvironmentAPIKeyLevel, proj, env),
	} {
		wrong := client(t, s.URL, "wrong-key", pc)
		_, err := wrong.Api.Users.List(ctx, 1, 10)
		wantCode(t, err, perrs.ForbiddenAccess, 403)
		good := client(t, s.URL, testKey, pc)
		if _, err := good.Api.Users.List(ctx, 1, 10); err != nil {
			t.Errorf("with context %+v: %v", pc, err)
		}
	}
	unknownEnv := client(t, s.URL, testKey, config.NewPermitContext(config.EnvironmentAPIKeyLevel, ProjectKey, "production"))
	_, err := unknownEnv.Api.Users.List(ctx, 1, 10)
	wantCode(t, err, perrs.NotFound, 404)

	// Through the lazy scope call, the 403 surfaces as a ContextError.
	_, err = client(t, s.URL, "wrong-key").Api.Users.Get(ctx, "u1")
	wantCode(t, err, perrs.ContextError, 0)

	_, err = client(t, s.URL, "wrong-key").Check(enforcement.UserBuilder("u").Build(), "view", enforcement.ResourceBuilder("reports").Build())
	wantCode(t, err, perrs.ForbiddenAccess, 403)

	// The SDK always sends "Bearer <token>", so a missing header is only
	// reachable with a raw client.
	r := do(t, "GET", s.URL+"/v2/api-key/scope", "", nil)
	var body map[string]any
	r.decode(t, &body)
	if r.status != 401 || body["error_code"] != "UNAUTHORIZED" {
		t.Errorf("API without Authorization = %d %s", r.status, r.body)
	}
	r = do(t, "POST", s.URL+"/allowed", "", map[string]any{})
	if r.status != 401 || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("PDP without Authorization = %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = do(t, "POST", s.URL+"/allowed", "wrong", map[string]any{})
	if r.status != 403 {
		t.Errorf("PDP with a wrong key = %d", r.status)
	}
}
