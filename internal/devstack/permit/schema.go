package permit

import (
	"iter"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// slugPattern is the key format Permit enforces for resources, actions,
// roles and tenants. User keys are free-form (they are often emails or
// identity-provider ids).
var slugPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// attributeTypes are the values of the SDK's models.AttributeType.
var attributeTypes = []string{"bool", "number", "string", "time", "array", "json"}

// ---- views ----

type resourceView struct {
	Key            string                `json:"key"`
	ID             string                `json:"id"`
	OrganizationID string                `json:"organization_id"`
	ProjectID      string                `json:"project_id"`
	EnvironmentID  string                `json:"environment_id"`
	CreatedAt      time.Time             `json:"created_at"`
	UpdatedAt      time.Time             `json:"updated_at"`
	Name           string                `json:"name"`
	URN            *string               `json:"urn"`
	Description    *string               `json:"description"`
	Actions        map[string]actionView `json:"actions"`
	Attributes     map[string]attrView   `json:"attributes"`
	Roles          map[string]any        `json:"roles"`
	Relations      map[string]any        `json:"relations"`
	ActionGroups   map[string]any        `json:"action_groups"`
}

type actionView struct {
	ID          string         `json:"id"`
	Key         string         `json:"key"`
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Attributes  map[string]any `json:"attributes"`
}

type attrView struct {
	ID          string  `json:"id"`
	Key         string  `json:"key"`
	Type        string  `json:"type"`
	Description *string `json:"description"`
}

type roleView struct {
	Key            string            `json:"key"`
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	ProjectID      string            `json:"project_id"`
	EnvironmentID  string            `json:"environment_id"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Name           string            `json:"name"`
	Description    *string           `json:"description"`
	Permissions    []string          `json:"permissions"`
	Extends        []string          `json:"extends"`
	Attributes     map[string]string `json:"attributes"`
}

func (st *state) resourceView(r *resourceRec) resourceView {
	v := resourceView{
		Key: r.Key, ID: r.ID, OrganizationID: st.OrgID, ProjectID: st.ProjectID, EnvironmentID: st.EnvID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Name: r.Name, URN: r.URN, Description: r.Description,
		Actions: map[string]actionView{}, Attributes: map[string]attrView{},
		Roles: map[string]any{}, Relations: map[string]any{}, ActionGroups: map[string]any{},
	}
	for k, a := range r.Actions {
		v.Actions[k] = actionView{ID: a.ID, Key: k, Name: a.Name, Description: a.Description, Attributes: nonNil(a.Attributes)}
	}
	for k, a := range r.Attributes {
		v.Attributes[k] = attrView{ID: a.ID, Key: k, Type: a.Type, Description: a.Description}
	}
	return v
}

func (st *state) roleView(r *roleRec) roleView {
	return roleView{
		Key: r.Key, ID: r.ID, OrganizationID: st.OrgID, ProjectID: st.ProjectID, EnvironmentID: st.EnvID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Name: r.Name, Description: r.Description,
		Permissions: nonNilSlice(slices.Clone(r.Permissions)), Extends: nonNilSlice(slices.Clone(r.Extends)),
		Attributes: nonNil(r.Attributes),
	}
}

// ---- resources ----

type actionBody struct {
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Attributes  map[string]any `json:"attributes"`
}

type attrBody struct {
	Type        *string `json:"type"`
	Description *string `json:"description"`
}

func (b resourceBody) keyAndName() (*string, *string) { return b.Key, b.Name }

type resourceBody struct {
	Key         *string                `json:"key"`
	Name        *string                `json:"name"`
	URN         *string                `json:"urn"`
	Description *string                `json:"description"`
	Actions     *map[string]actionBody `json:"actions"`
	Attributes  *map[string]attrBody   `json:"attributes"`
}

// check validates the action and attribute blocks, whichever are present.
func (b resourceBody) check() error {
	if b.Actions != nil {
		for k := range *b.Actions {
			if !slugPattern.MatchString(k) {
				return notSlug("body", "actions", k)
			}
		}
	}
	if b.Attributes != nil {
		for k, a := range *b.Attributes {
			if a.Type == nil {
				return missing("body", "attributes", k, "type")
			}
			if !slices.Contains(attributeTypes, *a.Type) {
				return invalid("value is not a valid enumeration member; permitted: "+strings.Join(attributeTypes, ", "),
					"type_error.enum", "body", "attributes", k, "type")
			}
		}
	}
	return nil
}

// apply writes the body's fields into r. With replace (create, PUT) absent
// fields are cleared; otherwise (PATCH) they are left alone. A field that
// is sent replaces the old value whole — actions included, so actions not
// sent are removed along with the role permissions that named them.
func (b resourceBody) apply(st *state, r *resourceRec, now time.Time, replace bool) {
	if b.Name != nil {
		r.Name = *b.Name
	}
	if b.URN != nil || replace {
		r.URN = b.URN
	}
	if b.Description != nil || replace {
		r.Description = b.Description
	}
	if b.Actions != nil || replace {
		old := r.Actions
		r.Actions = map[string]*actionRec{}
		if b.Actions != nil {
			for k, a := range *b.Actions {
				rec := &actionRec{ID: newID(), Name: a.Name, Description: a.Description, Attributes: nonNil(a.Attributes)}
				if prev, ok := old[k]; ok {
					rec.ID = prev.ID // keep ids stable across updates
				}
				if rec.Name == nil {
					rec.Name = &k
				}
				r.Actions[k] = rec
			}
		}
		for k := range old {
			if _, ok := r.Actions[k]; !ok {
				st.dropPermission(r.Key + ":" + k)
			}
		}
	}
	if b.Attributes != nil || replace {
		r.Attributes = map[string]*attrRec{}
		if b.Attributes != nil {
			for k, a := range *b.Attributes {
				r.Attributes[k] = &attrRec{ID: newID(), Type: *a.Type, Description: a.Description}
			}
		}
	}
	r.UpdatedAt = now
}

// dropPermission removes a permission from every role, as deleting an
// action or resource does in Permit.
func (st *state) dropPermission(perm string) {
	for _, role := range st.Roles {
		role.Permissions = slices.DeleteFunc(role.Permissions, func(p string) bool { return p == perm })
	}
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request) error {
	return serveList(s, w, r, bareArray, resources(),
		searchFilter(r, func(res *resourceRec) []*string { return []*string{&res.Key, &res.Name} }),
		(*state).resourceView)
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request) error {
	return serveGet(s, w, resources(), r.PathValue("resource"), (*state).resourceView)
}

func (s *Server) createResource(w http.ResponseWriter, r *http.Request) error {
	body, err := readCreate[resourceBody](r)
	if err != nil {
		return err
	}
	if body.Actions == nil {
		return missing("body", "actions")
	}
	if err := body.check(); err != nil {
		return err
	}
	return respond(s, w, http.StatusOK, func(t *tx) (resourceView, error) {
		res, err := t.addResource(body)
		if err != nil {
			return resourceView{}, err
		}
		return t.resourceView(res), nil
	})
}

// addResource creates the resource a checked create body describes.
func (t *tx) addResource(body resourceBody) (*resourceRec, error) {
	if t.resource(*body.Key) != nil {
		return nil, conflict("resource", *body.Key)
	}
	t.touchSchema()
	res := &resourceRec{meta: newMeta(*body.Key, t.now)}
	body.apply(t.state, res, t.now, true)
	t.Resources[res.Key] = res
	return res, nil
}

func (s *Server) updateResource(w http.ResponseWriter, r *http.Request) error {
	return s.changeResource(w, r, false)
}

func (s *Server) replaceResource(w http.ResponseWriter, r *http.Request) error {
	return s.changeResource(w, r, true)
}

func (s *Server) changeResource(w http.ResponseWriter, r *http.Request, replace bool) error {
	var body resourceBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if err := rejectKey(body.Key); err != nil {
		return err
	}
	if replace && body.Name == nil {
		return missing("body", "name")
	}
	if replace && body.Actions == nil {
		return missing("body", "actions")
	}
	if err := body.check(); err != nil {
		return err
	}
	return serveChange(s, w, resources(), r.PathValue("resource"), (*state).resourceView,
		func(t *tx, res *resourceRec) error {
			body.apply(t.state, res, t.now, replace)
			return nil
		})
}

func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request) error {
	return serveDelete(s, w, resources(), r.PathValue("resource"))
}

// ---- roles ----

func (b roleBody) keyAndName() (*string, *string) { return b.Key, b.Name }

type roleBody struct {
	Key         *string            `json:"key"`
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Permissions *[]string          `json:"permissions"`
	Attributes  *map[string]string `json:"attributes"`
	Extends     *[]string          `json:"extends"`
}

// permission resolves "resource:action", or an action id, to the
// "resource:action" form; unknown is a 404.
func (st *state) permission(ref string) (string, error) {
	if res, act, ok := strings.Cut(ref, ":"); ok {
		if r := st.Resources[res]; r != nil && r.Actions[act] != nil {
			return ref, nil
		}
	}
	for _, r := range st.Resources {
		for k, a := range r.Actions {
			if a.ID == ref {
				return r.Key + ":" + k, nil
			}
		}
	}
	return "", notFound("permission", ref)
}

func (st *state) permissions(refs []string) ([]string, error) {
	var out []string
	for _, ref := range refs {
		p, err := st.permission(ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// setExtends replaces a role's parents after checking each exists and
// that no cycle results.
func (st *state) setExtends(role *roleRec, parents []string) error {
	var keys []string
	for _, ref := range parents {
		p := st.role(ref)
		if p == nil {
			return notFound("role", ref)
		}
		if !slices.Contains(keys, p.Key) {
			keys = append(keys, p.Key)
		}
	}
	role.Extends = keys
	for _, p := range keys {
		if st.extendsReach(p, role.Key) {
			return badRequest("role '" + role.Key + "' cannot extend '" + p + "': that would create a cycle")
		}
	}
	return nil
}

// extendsReach reports whether target is from or one of its ancestors.
func (st *state) extendsReach(from, target string) bool {
	for k := range st.lineage(from) {
		if k == target {
			return true
		}
	}
	return false
}

// lineage yields from and every role it extends, transitively, each once.
// A key with no role behind it is yielded but leads nowhere. It stops at a
// cycle rather than loop: the API refuses to make one, but a log edited by
// hand could hold one.
func (st *state) lineage(from string) iter.Seq[string] {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		stack := []string{from}
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[k] {
				continue
			}
			seen[k] = true
			if !yield(k) {
				return
			}
			if r := st.Roles[k]; r != nil {
				stack = append(stack, r.Extends...)
			}
		}
	}
}

// apply writes the sent fields into role (PATCH semantics; create starts
// from an empty role).
func (b roleBody) apply(t *tx, role *roleRec) error {
	st := t.state
	if b.Name != nil {
		role.Name = *b.Name
	}
	if b.Description != nil {
		role.Description = b.Description
	}
	if b.Permissions != nil {
		perms, err := st.permissions(*b.Permissions)
		if err != nil {
			return err
		}
		role.Permissions = perms
	}
	if b.Attributes != nil {
		role.Attributes = *b.Attributes
	}
	if b.Extends != nil {
		if err := st.setExtends(role, *b.Extends); err != nil {
			return err
		}
	}
	role.UpdatedAt = t.now
	return nil
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	// ListByAttributes sends attr_<k>=<v>, equality only.
	attrs := map[string]string{}
	for k, v := range r.URL.Query() {
		if name, ok := strings.CutPrefix(k, "attr_"); ok && len(v) > 0 {
			attrs[name] = v[0]
		}
	}
	return serveList(s, w, r, bareArray, roles(),
		func(_ *state, role *roleRec) bool {
			for k, v := range attrs {
				if role.Attributes[k] != v {
					return false
				}
			}
			return true
		},
		(*state).roleView)
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	return serveGet(s, w, roles(), r.PathValue("role"), (*state).roleView)
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	body, err := readCreate[roleBody](r)
	if err != nil {
		return err
	}
	return respond(s, w, http.StatusOK, func(t *tx) (roleView, error) {
		role, err := t.addRole(body)
		if err != nil {
			return roleView{}, err
		}
		return t.roleView(role), nil
	})
}

// addRole creates the role a create body (key and name checked) describes.
func (t *tx) addRole(body roleBody) (*roleRec, error) {
	if t.role(*body.Key) != nil {
		return nil, conflict("role", *body.Key)
	}
	t.touchSchema()
	role := &roleRec{meta: newMeta(*body.Key, t.now), Attributes: map[string]string{}}
	t.Roles[role.Key] = role
	if err := body.apply(t, role); err != nil {
		return nil, err
	}
	return role, nil
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request) error {
	var body roleBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if err := rejectKey(body.Key); err != nil {
		return err
	}
	return s.changeRole(w, r.PathValue("role"), body.apply)
}

// changeRole runs fn on an existing role inside a write and answers with
// the role as it then is; every role sub-route replies RoleRead.
func (s *Server) changeRole(w http.ResponseWriter, ref string, fn func(*tx, *roleRec) error) error {
	return serveChange(s, w, roles(), ref, (*state).roleView, fn)
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	return serveDelete(s, w, roles(), r.PathValue("role"))
}

type permissionsBody struct {
	Permissions *[]string `json:"permissions"`
}

func readPermissions(r *http.Request) ([]string, error) {
	var body permissionsBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Permissions == nil {
		return nil, missing("body", "permissions")
	}
	return *body.Permissions, nil
}

// addRolePermissions skips permissions the role already has (SDK doc).
func (s *Server) addRolePermissions(w http.ResponseWriter, r *http.Request) error {
	refs, err := readPermissions(r)
	if err != nil {
		return err
	}
	return s.changeRole(w, r.PathValue("role"), func(t *tx, role *roleRec) error {
		st := t.state
		perms, err := st.permissions(refs)
		if err != nil {
			return err
		}
		for _, p := range perms {
			if !slices.Contains(role.Permissions, p) {
				role.Permissions = append(role.Permissions, p)
			}
		}
		return nil
	})
}

// removeRolePermissions skips permissions that are not found (SDK doc).
func (s *Server) removeRolePermissions(w http.ResponseWriter, r *http.Request) error {
	refs, err := readPermissions(r)
	if err != nil {
		return err
	}
	return s.changeRole(w, r.PathValue("role"), func(t *tx, role *roleRec) error {
		st := t.state
		for _, ref := range refs {
			if p, err := st.permission(ref); err == nil {
				role.Permissions = slices.DeleteFunc(role.Permissions, func(have string) bool { return have == p })
			}
		}
		return nil
	})
}

func (s *Server) addParentRole(w http.ResponseWriter, r *http.Request) error {
	return s.changeRole(w, r.PathValue("role"), func(t *tx, role *roleRec) error {
		st := t.state
		return st.setExtends(role, append(slices.Clone(role.Extends), r.PathValue("parent")))
	})
}

func (s *Server) removeParentRole(w http.ResponseWriter, r *http.Request) error {
	return s.changeRole(w, r.PathValue("role"), func(t *tx, role *roleRec) error {
		st := t.state
		parent := st.role(r.PathValue("parent"))
		if parent == nil {
			return notFound("role", r.PathValue("parent"))
		}
		role.Extends = slices.DeleteFunc(role.Extends, func(k string) bool { return k == parent.Key })
		return nil
	})
}

// sortedKeys is used by the PDP for stable output.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
