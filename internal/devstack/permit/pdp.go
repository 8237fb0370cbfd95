package permit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// snapshot is what the PDP decides from: the state as of the writes that
// have propagated. The API never touches it; pdpView applies each write's
// changes to it once the write's time has come. Maps and slices in it are
// replaced, never changed in place, so an answer built from them stays
// valid after the lock is released.
type snapshot struct {
	// users maps each synced user to its roles, sorted by tenant then
	// role; one small slice per user keeps 100k users cheap.
	users   map[string][]tenantRole
	tenants map[string]map[string]any  // key → attributes
	actions map[string]map[string]bool // resource → action keys
	grants  map[string]map[string]bool // role → "resource:action", closed over extends
}

type tenantRole struct{ tenant, role string }

func compareTenantRole(a, b tenantRole) int {
	return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.role, b.role))
}

// rolesIn lists a user's roles in one tenant (they are sorted by tenant,
// so they sit together).
func rolesIn(roles []tenantRole, tenant string) []tenantRole {
	i, _ := slices.BinarySearchFunc(roles, tenantRole{tenant, ""}, compareTenantRole)
	j := i
	for j < len(roles) && roles[j].tenant == tenant {
		j++
	}
	return roles[i:j]
}

func (st *state) snapshot() *snapshot {
	snap := &snapshot{
		users:   make(map[string][]tenantRole, len(st.Users)),
		tenants: map[string]map[string]any{},
	}
	for k := range st.Users {
		snap.users[k] = nil
	}
	for k, t := range st.Tenants {
		snap.tenants[k] = nonNil(t.Attributes)
	}
	snap.actions, snap.grants = st.decisionSchema()
	for _, list := range st.byUser {
		for _, a := range list {
			snap.addRole(a.User, a.Tenant, a.Role)
		}
	}
	return snap
}

// decisionSchema is the schema in the form decisions read.
func (st *state) decisionSchema() (actions, grants map[string]map[string]bool) {
	actions, grants = map[string]map[string]bool{}, map[string]map[string]bool{}
	for k, r := range st.Resources {
		actions[k] = map[string]bool{}
		for a := range r.Actions {
			actions[k][a] = true
		}
	}
	// Permit resolves extends server-side: a role grants its own
	// permissions and those of every role it extends, transitively.
	for k := range st.Roles {
		grants[k] = map[string]bool{}
		for ancestor := range st.lineage(k) {
			if r := st.Roles[ancestor]; r != nil {
				for _, p := range r.Permissions {
					grants[k][p] = true
				}
			}
		}
	}
	return actions, grants
}

// addRole and removeRole build a new slice rather than change the old one,
// which an answer being encoded may still hold.
func (snap *snapshot) addRole(user, tenant, role string) {
	have := snap.users[user]
	tr := tenantRole{tenant, role}
	if i, found := slices.BinarySearchFunc(have, tr, compareTenantRole); !found {
		snap.users[user] = slices.Insert(slices.Clip(have), i, tr)
	}
}

func (snap *snapshot) removeRole(user, tenant, role string) {
	have, synced := snap.users[user]
	i, found := slices.BinarySearchFunc(have, tenantRole{tenant, role}, compareTenantRole)
	if !synced || !found {
		return
	}
	if len(have) == 1 {
		snap.users[user] = nil
		return
	}
	snap.users[user] = slices.Delete(slices.Clone(have), i, i+1)
}

// pdpChange is a write's effect on the snapshot, worked out when the write
// commits so it holds values, not references into the live state.
type pdpChange func(*snapshot)

// pdpChanges turns a committed write's changes into their effect on the PDP.
func (st *state) pdpChanges(changes []change) []pdpChange {
	out := make([]pdpChange, 0, len(changes))
	for _, c := range changes {
		switch c.Op {
		case opUser:
			key := c.User.Key
			out = append(out, func(s *snapshot) {
				if _, ok := s.users[key]; !ok {
					s.users[key] = nil
				}
			})
		case opDropUser:
			key := c.Key
			out = append(out, func(s *snapshot) { delete(s.users, key) })
		case opTenant:
			key, attrs := c.Tenant.Key, nonNil(c.Tenant.Attributes)
			out = append(out, func(s *snapshot) { s.tenants[key] = attrs })
		case opDropTenant:
			key := c.Key
			out = append(out, func(s *snapshot) { delete(s.tenants, key) })
		case opAssign:
			a := *c.Assignment
			out = append(out, func(s *snapshot) { s.addRole(a.User, a.Tenant, a.Role) })
		case opUnassign:
			a := *c.Assignment
			out = append(out, func(s *snapshot) { s.removeRole(a.User, a.Tenant, a.Role) })
		case opSchema:
			actions, grants := st.decisionSchema()
			out = append(out, func(s *snapshot) { s.actions, s.grants = actions, grants })
		}
	}
	return out
}

// pdpView models OPAL propagation: each write's changes wait in a queue
// until their time comes, then apply to the one snapshot, so a pending
// write costs its changes, not a copy of the state. Time is read from the
// server's clock on every decision, so a fake clock steps over the delay
// without any goroutine or sleep.
type pdpView struct {
	mu    sync.RWMutex
	live  *snapshot
	queue []queued // in write order
}

type queued struct {
	at      time.Time
	changes []pdpChange
}

// publish queues a write's changes to apply at at. What is already due is
// applied now, so with no delay a write is visible to the next decision
// and the queue never holds more than the writes still in flight.
func (v *pdpView) publish(changes []pdpChange, at, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.queue = append(v.queue, queued{at, changes})
	v.promote(now)
}

// lastDue is the index of the newest queued write whose time has come, or
// -1. Writes apply in order, so a due write also brings every earlier one
// (the delay may have shrunk in between): propagation delivers in order.
func (v *pdpView) lastDue(now time.Time) int {
	due := -1
	for i, q := range v.queue {
		if !q.at.After(now) {
			due = i
		}
	}
	return due
}

func (v *pdpView) apply(n int) {
	for _, q := range v.queue[:n] {
		for _, c := range q.changes {
			c(v.live)
		}
	}
	clear(v.queue[:n]) // let the applied changes be collected
	v.queue = v.queue[n:]
	if len(v.queue) == 0 {
		v.queue = nil
	}
}

func (v *pdpView) promote(now time.Time) {
	if due := v.lastDue(now); due >= 0 {
		v.apply(due + 1)
	}
}

// read runs fn on the snapshot as of now. fn must not keep the snapshot.
func (v *pdpView) read(now time.Time, fn func(*snapshot)) {
	v.mu.RLock()
	if v.lastDue(now) < 0 {
		defer v.mu.RUnlock()
		fn(v.live)
		return
	}
	v.mu.RUnlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.promote(now)
	fn(v.live)
}

func (v *pdpView) flush() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.apply(len(v.queue))
}

// pending is how many writes have not reached the PDP yet.
func (v *pdpView) pending() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.queue)
}

// ---- decisions: tenant RBAC ----

// Debug reason codes, in the order Permit's debugger checks them.
const (
	reasonAllowed        = "allowed"
	reasonNoSuchResource = "no_such_resource"
	reasonNoSuchAction   = "no_such_action"
	reasonNoSuchTenant   = "no_such_tenant"
	reasonUserNotSynced  = "user_not_synced"
	reasonNoUserRoles    = "no_user_roles"
	reasonNoRoleInTenant = "no_role_in_tenant"
	reasonNoPermission   = "no_permission"
)

// decide is Permit's tenant-level RBAC: the user's roles in
// resource.tenant, closed over extends, must grant "type:action". The
// resource key plays no part; an unknown anything is a deny, not an error.
// The PDP never defaults the tenant — only the SDK's ResourceBuilder does.
func (snap *snapshot) decide(user, action, typ, tenant string) (bool, string) {
	switch {
	case snap.actions[typ] == nil:
		return false, reasonNoSuchResource
	case !snap.actions[typ][action]:
		return false, reasonNoSuchAction
	case tenant == "" || snap.tenants[tenant] == nil:
		return false, reasonNoSuchTenant
	}
	roles, synced := snap.users[user]
	inTenant := rolesIn(roles, tenant)
	switch {
	case !synced:
		return false, reasonUserNotSynced
	case len(roles) == 0:
		return false, reasonNoUserRoles
	case len(inTenant) == 0:
		return false, reasonNoRoleInTenant
	}
	perm := typ + ":" + action
	for _, tr := range inTenant {
		if snap.grants[tr.role][perm] {
			return true, reasonAllowed
		}
	}
	return false, reasonNoPermission
}

// checkRequest is the /allowed body. Unknown fields are ignored, as serde
// and pydantic do; the SDK's "roles" and "id" fields are among them.
type checkRequest struct {
	User *struct {
		Key *string `json:"key"`
	} `json:"user"`
	Action   *string `json:"action"`
	Resource *struct {
		Type   *string `json:"type"`
		Key    string  `json:"key"`
		Tenant string  `json:"tenant"`
	} `json:"resource"`
}

type checkResult struct {
	Allow  bool           `json:"allow"`
	Result bool           `json:"result"`
	Debug  map[string]any `json:"debug,omitempty"`
}

// parse validates a check; its error text is what the PDP's Rust front
// (axum's JSON extractor) answers with a 422.
func parseCheck(raw []byte) (checkRequest, error) {
	var c checkRequest
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("Failed to deserialize the JSON body into the target type: %w", err)
	}
	field := ""
	switch {
	case c.User == nil:
		field = "user"
	case c.User.Key == nil:
		field = "user.key"
	case c.Action == nil:
		field = "action"
	case c.Resource == nil:
		field = "resource"
	case c.Resource.Type == nil:
		field = "resource.type"
	}
	if field != "" {
		return c, fmt.Errorf("Failed to deserialize the JSON body into the target type: missing field `%s`", field)
	}
	return c, nil
}

func (snap *snapshot) check(c checkRequest) checkResult {
	allow, reason := snap.decide(*c.User.Key, *c.Action, *c.Resource.Type, c.Resource.Tenant)
	return checkResult{Allow: allow, Result: allow, Debug: map[string]any{
		"rbac": map[string]any{"allow": allow, "code": reason},
	}}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "Failed to buffer the request body", http.StatusBadRequest)
		return nil, false
	}
	return data, true
}

func unprocessable(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusUnprocessableEntity)
}

// decide runs fn on the PDP's view as of now.
func (s *Server) decide(fn func(*snapshot)) { s.pdp.read(s.now(), fn) }

// readCheck reads a single-check body, answering 400/422 itself on failure.
func readCheck(w http.ResponseWriter, r *http.Request) (checkRequest, bool) {
	raw, ok := readBody(w, r)
	if !ok {
		return checkRequest{}, false
	}
	c, err := parseCheck(raw)
	if err != nil {
		unprocessable(w, err)
		return c, false
	}
	return c, true
}

func (s *Server) handleAllowed(w http.ResponseWriter, r *http.Request) {
	if c, ok := readCheck(w, r); ok {
		var res checkResult
		s.decide(func(snap *snapshot) { res = snap.check(c) })
		writeJSON(w, http.StatusOK, res)
	}
}

// handleBulk takes a bare array and answers {"allow":[...]} in input order.
// The Go SDK sends one request per tenant; others send one in all.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		unprocessable(w, fmt.Errorf("Failed to deserialize the JSON body into the target type: %w", err))
		return
	}
	checks := make([]checkRequest, 0, len(items))
	for i, item := range items {
		c, err := parseCheck(item)
		if err != nil {
			unprocessable(w, fmt.Errorf("[%d]: %w", i, err))
			return
		}
		checks = append(checks, c)
	}
	results := make([]checkResult, 0, len(items))
	s.decide(func(snap *snapshot) {
		for _, c := range checks {
			results = append(results, snap.check(c))
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"allow": results})
}

type tenantDetails struct {
	Key        string         `json:"key"`
	Attributes map[string]any `json:"attributes"`
}

// handleAllTenants lists every tenant where the check allows. It is
// horizon's route; the Cloud PDP does not serve it.
func (s *Server) handleAllTenants(w http.ResponseWriter, r *http.Request) {
	c, ok := readCheck(w, r)
	if !ok {
		return
	}
	type allowedTenant struct {
		checkResult
		Tenant tenantDetails `json:"tenant"`
	}
	allowed := []allowedTenant{}
	s.decide(func(snap *snapshot) {
		for _, t := range sortedKeys(snap.tenants) {
			c.Resource.Tenant = t
			if res := snap.check(c); res.Allow {
				allowed = append(allowed, allowedTenant{res, tenantDetails{t, snap.tenants[t]}})
			}
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"allowed_tenants": allowed})
}

type userPermissionsRequest struct {
	User *struct {
		Key *string `json:"key"`
	} `json:"user"`
	Tenants       []string `json:"tenants"`
	ResourceTypes []string `json:"resource_types"`
}

type tenantPermissions struct {
	Tenant      tenantDetails `json:"tenant"`
	Permissions []string      `json:"permissions"`
	Roles       []string      `json:"roles"`
}

// handleUserPermissions answers a top-level map keyed "__tenant:<t>" for
// each tenant where the user holds roles; {} when there are none.
func (s *Server) handleUserPermissions(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var req userPermissionsRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		unprocessable(w, fmt.Errorf("Failed to deserialize the JSON body into the target type: %w", err))
		return
	}
	if req.User == nil || req.User.Key == nil {
		unprocessable(w, fmt.Errorf("Failed to deserialize the JSON body into the target type: missing field `user.key`"))
		return
	}
	out := map[string]tenantPermissions{}
	s.decide(func(snap *snapshot) { userPermissions(snap, req, out) })
	writeJSON(w, http.StatusOK, out)
}

func userPermissions(snap *snapshot, req userPermissionsRequest, out map[string]tenantPermissions) {
	all := snap.users[*req.User.Key]
	for len(all) > 0 {
		tenant := all[0].tenant
		inTenant := rolesIn(all, tenant)
		all = all[len(inTenant):]
		if len(req.Tenants) > 0 && !slices.Contains(req.Tenants, tenant) {
			continue
		}
		perms, roles := []string{}, make([]string, 0, len(inTenant))
		for _, tr := range inTenant {
			roles = append(roles, tr.role)
			for p := range snap.grants[tr.role] {
				typ, _, _ := strings.Cut(p, ":")
				if len(req.ResourceTypes) == 0 || slices.Contains(req.ResourceTypes, typ) {
					perms = append(perms, p)
				}
			}
		}
		slices.Sort(perms)
		out["__tenant:"+tenant] = tenantPermissions{
			Tenant:      tenantDetails{tenant, snap.tenants[tenant]},
			Permissions: slices.Compact(perms),
			Roles:       roles,
		}
	}
}
