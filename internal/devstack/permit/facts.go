package permit

import (
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// ---- views: what the API returns, with the keys its spec marks required ----

type userView struct {
	Key               string         `json:"key"`
	ID                string         `json:"id"`
	OrganizationID    string         `json:"organization_id"`
	ProjectID         string         `json:"project_id"`
	EnvironmentID     string         `json:"environment_id"`
	AssociatedTenants []userInTenant `json:"associated_tenants"`
	Roles             []userRole     `json:"roles"`
	Email             *string        `json:"email"`
	FirstName         *string        `json:"first_name"`
	LastName          *string        `json:"last_name"`
	Attributes        map[string]any `json:"attributes"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
}

type userInTenant struct {
	Tenant string   `json:"tenant"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

type userRole struct {
	Role   string `json:"role"`
	Tenant string `json:"tenant"`
}

type tenantView struct {
	Key            string         `json:"key"`
	ID             string         `json:"id"`
	OrganizationID string         `json:"organization_id"`
	ProjectID      string         `json:"project_id"`
	EnvironmentID  string         `json:"environment_id"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	LastActionAt   time.Time      `json:"last_action_at"`
	Name           string         `json:"name"`
	Description    *string        `json:"description"`
	Attributes     map[string]any `json:"attributes"`
}

// assignmentView carries every key the SDK's RoleAssignmentRead requires;
// one missing key fails the SDK call even though the write succeeded.
type assignmentView struct {
	ID             string    `json:"id"`
	User           string    `json:"user"`
	Role           string    `json:"role"`
	Tenant         string    `json:"tenant"`
	UserID         string    `json:"user_id"`
	RoleID         string    `json:"role_id"`
	TenantID       string    `json:"tenant_id"`
	OrganizationID string    `json:"organization_id"`
	ProjectID      string    `json:"project_id"`
	EnvironmentID  string    `json:"environment_id"`
	CreatedAt      time.Time `json:"created_at"`
}

type detailedAssignmentView struct {
	ID   string `json:"id"`
	User struct {
		ID         string         `json:"id"`
		Key        string         `json:"key"`
		Email      *string        `json:"email"`
		FirstName  *string        `json:"first_name"`
		LastName   *string        `json:"last_name"`
		Attributes map[string]any `json:"attributes"`
	} `json:"user"`
	Role struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"role"`
	Tenant struct {
		ID         string         `json:"id"`
		Key        string         `json:"key"`
		Name       string         `json:"name"`
		Attributes map[string]any `json:"attributes"`
	} `json:"tenant"`
	OrganizationID string    `json:"organization_id"`
	ProjectID      string    `json:"project_id"`
	EnvironmentID  string    `json:"environment_id"`
	CreatedAt      time.Time `json:"created_at"`
}

func (st *state) userView(u *userRec) userView {
	v := userView{
		Key: u.Key, ID: u.ID, OrganizationID: st.OrgID, ProjectID: st.ProjectID, EnvironmentID: st.EnvID,
		AssociatedTenants: []userInTenant{}, Roles: []userRole{},
		Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Attributes: nonNil(u.Attributes), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
	for _, a := range st.byUser[u.Key] {
		v.Roles = append(v.Roles, userRole{Role: a.Role, Tenant: a.Tenant})
		i := slices.IndexFunc(v.AssociatedTenants, func(t userInTenant) bool { return t.Tenant == a.Tenant })
		if i < 0 {
			v.AssociatedTenants = append(v.AssociatedTenants, userInTenant{Tenant: a.Tenant, Roles: []string{}, Status: "active"})
			i = len(v.AssociatedTenants) - 1
		}
		v.AssociatedTenants[i].Roles = append(v.AssociatedTenants[i].Roles, a.Role)
	}
	return v
}

func (st *state) tenantView(t *tenantRec) tenantView {
	return tenantView{
		Key: t.Key, ID: t.ID, OrganizationID: st.OrgID, ProjectID: st.ProjectID, EnvironmentID: st.EnvID,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, LastActionAt: t.UpdatedAt,
		Name: t.Name, Description: t.Description, Attributes: nonNil(t.Attributes),
	}
}

func (st *state) assignmentView(a *assignmentRec) assignmentView {
	return assignmentView{
		ID: a.ID, User: a.User, Role: a.Role, Tenant: a.Tenant,
		UserID: st.Users[a.User].ID, RoleID: st.Roles[a.Role].ID, TenantID: st.Tenants[a.Tenant].ID,
		OrganizationID: st.OrgID, ProjectID: st.ProjectID, EnvironmentID: st.EnvID, CreatedAt: a.CreatedAt,
	}
}

func (st *state) detailedAssignmentView(a *assignmentRec) detailedAssignmentView {
	u, r, t := st.Users[a.User], st.Roles[a.Role], st.Tenants[a.Tenant]
	var v detailedAssignmentView
	v.ID, v.OrganizationID, v.ProjectID, v.EnvironmentID, v.CreatedAt = a.ID, st.OrgID, st.ProjectID, st.EnvID, a.CreatedAt
	v.User.ID, v.User.Key, v.User.Email, v.User.FirstName, v.User.LastName, v.User.Attributes = u.ID, u.Key, u.Email, u.FirstName, u.LastName, nonNil(u.Attributes)
	v.Role.ID, v.Role.Key = r.ID, r.Key
	v.Tenant.ID, v.Tenant.Key, v.Tenant.Name, v.Tenant.Attributes = t.ID, t.Key, t.Name, nonNil(t.Attributes)
	return v
}

func nonNil[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}

// ---- users ----

type userBody struct {
	Key        *string        `json:"key"`
	Email      *string        `json:"email"`
	FirstName  *string        `json:"first_name"`
	LastName   *string        `json:"last_name"`
	Attributes map[string]any `json:"attributes"`
}

func (b userBody) validateEmail() error {
	if b.Email == nil {
		return nil
	}
	if a, err := mail.ParseAddress(*b.Email); err != nil || a.Address != *b.Email {
		// The SDK rewrites a 422 containing this text to "Email is not valid".
		return invalid("value is not a valid email address", "value_error.email", "body", "email")
	}
	return nil
}

// checkEmailFree enforces that an email is unique in the environment,
// ignoring case.
func (st *state) checkEmailFree(email *string, except string) error {
	if email == nil {
		return nil
	}
	if key, ok := st.emails[foldEmail(*email)]; ok && key != except {
		return conflict("user with the email", *email)
	}
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return serveList(s, w, r, paginated, users(),
		searchFilter(r, func(u *userRec) []*string { return []*string{&u.Key, u.Email, u.FirstName, u.LastName} }),
		(*state).userView)
}

// searchFilter keeps the entities one of whose fields contains the
// ?search= text, ignoring case; with no search it keeps everything.
func searchFilter[T entity](r *http.Request, fields func(T) []*string) func(*state, T) bool {
	search := strings.ToLower(r.URL.Query().Get("search"))
	return func(_ *state, e T) bool {
		for _, f := range fields(e) {
			if f != nil && strings.Contains(strings.ToLower(*f), search) {
				return true
			}
		}
		return search == ""
	}
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	return serveGet(s, w, users(), r.PathValue("user"), (*state).userView)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var body userBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Key == nil || *body.Key == "" {
		return missing("body", "key")
	}
	if err := body.validateEmail(); err != nil {
		return err
	}
	// The API spec documents 200 for a create.
	return respond(s, w, http.StatusOK, func(t *tx) (userView, error) {
		// A duplicate key is 409, as the v1.2.8 integration test asserts.
		if t.user(*body.Key) != nil {
			return userView{}, conflict("user", *body.Key)
		}
		if err := t.checkEmailFree(body.Email, ""); err != nil {
			return userView{}, err
		}
		u := &userRec{meta: newMeta(*body.Key, t.now)}
		body.applyTo(u, t.now)
		t.putUser(u)
		return t.userView(u), nil
	})
}

// applyTo replaces every writable field with the body's (PUT semantics).
func (b userBody) applyTo(u *userRec, now time.Time) {
	u.Email, u.FirstName, u.LastName = b.Email, b.FirstName, b.LastName
	u.Attributes = b.Attributes // nil when empty: views show {}, and 100k empty maps add up
	u.UpdatedAt = now
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var body userBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if err := rejectKey(body.Key); err != nil {
		return err
	}
	if err := body.validateEmail(); err != nil {
		return err
	}
	return serveChange(s, w, users(), r.PathValue("user"), (*state).userView, func(t *tx, u *userRec) error {
		if err := t.checkEmailFree(body.Email, u.Key); err != nil {
			return err
		}
		// PATCH: only the fields sent change. SyncUser relies on this and so
		// can never clear a field.
		if body.Email != nil {
			u.Email = body.Email
		}
		if body.FirstName != nil {
			u.FirstName = body.FirstName
		}
		if body.LastName != nil {
			u.LastName = body.LastName
		}
		if body.Attributes != nil {
			u.Attributes = body.Attributes
		}
		return nil
	})
}

// replaceUser is the Node/Python SDKs' sync: PUT creates (201) or
// replaces (200).
func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request) error {
	var body userBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	key := r.PathValue("user")
	if body.Key != nil && *body.Key != key {
		return badRequest("the key in the body does not match the key in the path")
	}
	if err := body.validateEmail(); err != nil {
		return err
	}
	// Not respond(): the status is known only once the write has run.
	status := http.StatusOK
	var view userView
	err := s.write(func(t *tx) error {
		u := t.user(key)
		if u == nil {
			status = http.StatusCreated
			u = &userRec{meta: newMeta(key, t.now)}
		} else {
			u = users().edit(t, u)
		}
		if err := t.checkEmailFree(body.Email, u.Key); err != nil {
			return err
		}
		body.applyTo(u, t.now)
		t.putUser(u)
		view = t.userView(u)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, status, view)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return serveDelete(s, w, users(), r.PathValue("user"))
}

// ---- tenants ----

func (b tenantBody) keyAndName() (*string, *string) { return b.Key, b.Name }

type tenantBody struct {
	Key         *string        `json:"key"`
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Attributes  map[string]any `json:"attributes"`
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	return serveList(s, w, r, bareArray, tenants(),
		searchFilter(r, func(t *tenantRec) []*string { return []*string{&t.Key, &t.Name} }),
		(*state).tenantView)
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	return serveGet(s, w, tenants(), r.PathValue("tenant"), (*state).tenantView)
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	body, err := readCreate[tenantBody](r)
	if err != nil {
		return err
	}
	return respond(s, w, http.StatusOK, func(t *tx) (tenantView, error) {
		if t.tenant(*body.Key) != nil {
			return tenantView{}, conflict("tenant", *body.Key)
		}
		tn := &tenantRec{meta: newMeta(*body.Key, t.now), Name: *body.Name, Description: body.Description,
			Attributes: nonNil(body.Attributes)}
		t.putTenant(tn)
		return t.tenantView(tn), nil
	})
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	var body tenantBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if err := rejectKey(body.Key); err != nil {
		return err
	}
	return serveChange(s, w, tenants(), r.PathValue("tenant"), (*state).tenantView, func(_ *tx, t *tenantRec) error {
		if body.Name != nil {
			t.Name = *body.Name
		}
		if body.Description != nil {
			t.Description = body.Description
		}
		if body.Attributes != nil {
			t.Attributes = body.Attributes
		}
		return nil
	})
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	return serveDelete(s, w, tenants(), r.PathValue("tenant"))
}

// listTenantUsers is paginated, unlike the tenant list itself.
func (s *Server) listTenantUsers(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("tenant")
	if err := s.read(func(st *state) error {
		if st.tenant(ref) == nil {
			return notFound("tenant", ref)
		}
		return nil
	}); err != nil {
		return err
	}
	var members map[string]bool // worked out once, on the first user, inside serveList's read
	return serveList(s, w, r, paginated, users(),
		func(st *state, u *userRec) bool {
			if members == nil {
				members = st.tenantMembers(ref)
			}
			return members[u.Key]
		},
		(*state).userView)
}

// tenantMembers is the set of users holding a role in the tenant ref names
// (key or id); empty, never nil, when there is no such tenant.
func (st *state) tenantMembers(ref string) map[string]bool {
	members := map[string]bool{}
	if t := st.tenant(ref); t != nil {
		for user, list := range st.byUser {
			if slices.ContainsFunc(list, func(a *assignmentRec) bool { return a.Tenant == t.Key }) {
				members[user] = true
			}
		}
	}
	return members
}

// ---- role assignments ----

type assignmentBody struct {
	User             *string `json:"user"`
	Role             *string `json:"role"`
	Tenant           *string `json:"tenant"`
	ResourceInstance *string `json:"resource_instance"`
}

// check validates the fields every assignment body needs; withUser is false
// for /users/{user}/roles, where the user is in the path.
func (b assignmentBody) check(withUser bool, loc ...any) error {
	if withUser && b.User == nil {
		return missing(append(loc, "user")...)
	}
	if b.Role == nil {
		return missing(append(loc, "role")...)
	}
	if b.Tenant == nil && b.ResourceInstance == nil {
		return missing(append(loc, "tenant")...)
	}
	return nil
}

// resolve finds the user, role and tenant an assignment names; each
// unknown one is a 404, as in Permit.
func (st *state) resolve(user string, b assignmentBody) (u *userRec, role *roleRec, t *tenantRec, err error) {
	if b.ResourceInstance != nil {
		// The stand-in has no resource instances (ReBAC is optional).
		return nil, nil, nil, notFound("resource instance", *b.ResourceInstance)
	}
	if u = st.user(user); u == nil {
		return nil, nil, nil, notFound("user", user)
	}
	if role = st.role(*b.Role); role == nil {
		return nil, nil, nil, notFound("role", *b.Role)
	}
	if t = st.tenant(*b.Tenant); t == nil {
		return nil, nil, nil, notFound("tenant", *b.Tenant)
	}
	return u, role, t, nil
}

// assignBody adds an assignment; a duplicate is 409 unless skipDuplicate (bulk).
func (t *tx) assignBody(user string, b assignmentBody, skipDuplicate bool) (*assignmentRec, error) {
	u, role, tn, err := t.resolve(user, b)
	if err != nil {
		return nil, err
	}
	if t.findAssignment(assignKey{u.Key, role.Key, tn.Key}) != nil {
		if skipDuplicate {
			return nil, nil
		}
		return nil, conflict("role assignment", u.Key+"/"+role.Key+"/"+tn.Key)
	}
	a := &assignmentRec{ID: newID(), User: u.Key, Role: role.Key, Tenant: tn.Key, CreatedAt: t.now}
	t.assign(a)
	return a, nil
}

// unassignBody removes an assignment; a missing one is 404 unless
// skipMissing (bulk).
func (t *tx) unassignBody(user string, b assignmentBody, skipMissing bool) (bool, error) {
	u, role, tn, err := t.resolve(user, b)
	if err == nil {
		if a := t.findAssignment(assignKey{u.Key, role.Key, tn.Key}); a != nil {
			t.unassign(a)
			return true, nil
		}
		err = notFound("role assignment", user+"/"+*b.Role+"/"+*b.Tenant)
	}
	if skipMissing {
		return false, nil
	}
	return false, err
}

func (s *Server) assignUserRole(w http.ResponseWriter, r *http.Request) error {
	return s.assignFrom(w, r, r.PathValue("user"))
}

func (s *Server) assignRole(w http.ResponseWriter, r *http.Request) error {
	return s.assignFrom(w, r, "")
}

// readAssignment reads an assignment body. pathUser is the user from
// /users/{user}/roles; "" means the body names the user (/role_assignments).
func readAssignment(r *http.Request, pathUser string) (string, assignmentBody, error) {
	var body assignmentBody
	if err := decodeBody(r, &body); err != nil {
		return "", body, err
	}
	if err := body.check(pathUser == "", "body"); err != nil {
		return "", body, err
	}
	if pathUser != "" {
		return pathUser, body, nil
	}
	return *body.User, body, nil
}

// assignFrom serves both assignment routes: the Go SDK's
// POST /users/{user}/roles and the Node SDK's POST /role_assignments.
func (s *Server) assignFrom(w http.ResponseWriter, r *http.Request, pathUser string) error {
	user, body, err := readAssignment(r, pathUser)
	if err != nil {
		return err
	}
	return respond(s, w, http.StatusOK, func(t *tx) (assignmentView, error) {
		a, err := t.assignBody(user, body, false)
		if err != nil {
			return assignmentView{}, err
		}
		return t.assignmentView(a), nil
	})
}

func (s *Server) unassignUserRole(w http.ResponseWriter, r *http.Request) error {
	return s.unassignFrom(w, r, r.PathValue("user"))
}

func (s *Server) unassignRole(w http.ResponseWriter, r *http.Request) error {
	return s.unassignFrom(w, r, "")
}

// unassignFrom serves both unassignment routes; both take a JSON body on
// DELETE and answer 204 with no body.
func (s *Server) unassignFrom(w http.ResponseWriter, r *http.Request, pathUser string) error {
	user, body, err := readAssignment(r, pathUser)
	if err != nil {
		return err
	}
	return s.respondNoContent(w, func(t *tx) error {
		_, err := t.unassignBody(user, body, false)
		return err
	})
}

func (s *Server) bulkAssign(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, "assignments_created", func(t *tx, b assignmentBody) (bool, error) {
		a, err := t.assignBody(*b.User, b, true)
		return a != nil, err
	})
}

func (s *Server) bulkUnassign(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, "assignments_removed", func(t *tx, b assignmentBody) (bool, error) {
		return t.unassignBody(*b.User, b, true)
	})
}

// bulk applies op to each element of a bare-array body, all or nothing,
// and reports how many changed something under countKey.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, countKey string, op func(*tx, assignmentBody) (bool, error)) error {
	var body []assignmentBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	for i, b := range body {
		if err := b.check(true, "body", i); err != nil {
			return err
		}
	}
	n := 0
	err := s.write(func(t *tx) error {
		for _, b := range body {
			changed, err := op(t, b)
			if err != nil {
				return err
			}
			if changed {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{countKey: n})
	return nil
}

// listRoleAssignments answers a bare array; the SDK cannot decode the
// paginated object and panics on an empty body. include_total_count
// (Node) asks for the paginated object instead.
func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request) error {
	pg, per, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	detailed := q.Get("detailed") == "true"
	var items []any
	_ = s.read(func(st *state) error {
		// Filters accept keys or ids; an unknown one simply matches nothing.
		match := func(filter, key, id string) bool { return filter == "" || filter == key || filter == id }
		list := st.sortedAssignments
		if u := st.user(q.Get("user")); u != nil {
			// Filtering by user is what apps do; it need not look at anyone else.
			list = func() []*assignmentRec { return st.byUser[u.Key] }
		}
		for _, a := range list() {
			if !match(q.Get("user"), a.User, st.Users[a.User].ID) ||
				!match(q.Get("role"), a.Role, st.Roles[a.Role].ID) ||
				!match(q.Get("tenant"), a.Tenant, st.Tenants[a.Tenant].ID) {
				continue
			}
			if detailed {
				items = append(items, st.detailedAssignmentView(a))
			} else {
				items = append(items, st.assignmentView(a))
			}
		}
		return nil
	})
	shape := bareArray
	if q.Get("include_total_count") == "true" {
		shape = paginated
	}
	writePage(w, items, pg, per, shape)
	return nil
}
