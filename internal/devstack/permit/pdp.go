package permit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// snapshot is what the PDP decides from: an immutable, precomputed copy of
// the state as of some write. The API never touches it; writes produce a
// new one (see pdpView).
type snapshot struct {
	users   map[string]bool
	tenants map[string]map[string]any      // key → attributes
	actions map[string]map[string]bool     // resource → action keys
	grants  map[string]map[string]bool     // role → "resource:action", closed over extends
	roles   map[string]map[string][]string // user → tenant → role keys, sorted
}

func (st *state) snapshot() *snapshot {
	snap := &snapshot{
		users:   map[string]bool{},
		tenants: map[string]map[string]any{},
		actions: map[string]map[string]bool{},
		grants:  map[string]map[string]bool{},
		roles:   map[string]map[string][]string{},
	}
	for k := range st.Users {
		snap.users[k] = true
	}
	for k, t := range st.Tenants {
		snap.tenants[k] = nonNil(t.Attributes)
	}
	for k, r := range st.Resources {
		snap.actions[k] = map[string]bool{}
		for a := range r.Actions {
			snap.actions[k][a] = true
		}
	}
	// The same expansion the policy package uses for policy files (§4 step 3).
	schema := st.schema()
	for k := range st.Roles {
		snap.grants[k] = map[string]bool{}
		for _, p := range schema.Permissions(k) {
			snap.grants[k][p] = true
		}
	}
	for _, a := range st.Assignments {
		if snap.roles[a.User] == nil {
			snap.roles[a.User] = map[string][]string{}
		}
		snap.roles[a.User][a.Tenant] = append(snap.roles[a.User][a.Tenant], a.Role)
	}
	for _, byTenant := range snap.roles {
		for _, rs := range byTenant {
			slices.Sort(rs)
		}
	}
	return snap
}

// pdpView models OPAL propagation (§3): each write queues a snapshot that
// becomes the live one once its time has come. Time is read from the
// server's clock on every decision, so a fake clock steps over the delay
// without any goroutine or sleep.
type pdpView struct {
	mu    sync.Mutex
	live  *snapshot
	queue []queued
}

type queued struct {
	at   time.Time
	snap *snapshot
}

func (v *pdpView) publish(snap *snapshot, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.queue = append(v.queue, queued{at, snap})
}

// current promotes the newest due snapshot and returns the live one. Each
// snapshot contains every earlier write, so the newest due one wins.
func (v *pdpView) current(now time.Time) *snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	due := -1
	for i, q := range v.queue {
		if !q.at.After(now) {
			due = i
		}
	}
	if due >= 0 {
		v.live = v.queue[due].snap
		v.queue = slices.Delete(v.queue, 0, due+1)
	}
	return v.live
}

func (v *pdpView) flush() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n := len(v.queue); n > 0 {
		v.live = v.queue[n-1].snap
		v.queue = nil
	}
}

// ---- decisions (§4) ----

// Debug reason codes, in the order Permit's debugger checks them (§3).
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
	case !snap.users[user]:
		return false, reasonUserNotSynced
	case len(snap.roles[user]) == 0:
		return false, reasonNoUserRoles
	case len(snap.roles[user][tenant]) == 0:
		return false, reasonNoRoleInTenant
	}
	perm := typ + ":" + action
	for _, role := range snap.roles[user][tenant] {
		if snap.grants[role][perm] {
			return true, reasonAllowed
		}
	}
	return false, reasonNoPermission
}

// checkRequest is the /allowed body. Unknown fields are ignored, as serde
// and pydantic do (§3); the SDK's "roles" and "id" fields are among them.
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
// (axum's JSON extractor) answers with a 422 (§3).
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

func (s *Server) snapshotNow() *snapshot { return s.pdp.current(s.now()) }

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
		writeJSON(w, http.StatusOK, s.snapshotNow().check(c))
	}
}

// handleBulk takes a bare array and answers {"allow":[...]} in input order
// (§2). The Go SDK sends one request per tenant; others send one in all.
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
	snap := s.snapshotNow()
	results := make([]checkResult, 0, len(items))
	for i, item := range items {
		c, err := parseCheck(item)
		if err != nil {
			unprocessable(w, fmt.Errorf("[%d]: %w", i, err))
			return
		}
		results = append(results, snap.check(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"allow": results})
}

type tenantDetails struct {
	Key        string         `json:"key"`
	Attributes map[string]any `json:"attributes"`
}

// handleAllTenants lists every tenant where the check allows (§4). It is
// horizon's route, not the Cloud PDP's (§3).
func (s *Server) handleAllTenants(w http.ResponseWriter, r *http.Request) {
	c, ok := readCheck(w, r)
	if !ok {
		return
	}
	snap := s.snapshotNow()
	type allowedTenant struct {
		checkResult
		Tenant tenantDetails `json:"tenant"`
	}
	allowed := []allowedTenant{}
	for _, t := range sortedKeys(snap.tenants) {
		c.Resource.Tenant = t
		if res := snap.check(c); res.Allow {
			allowed = append(allowed, allowedTenant{res, tenantDetails{t, snap.tenants[t]}})
		}
	}
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
// each tenant where the user holds roles (§4); {} when there are none.
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
	snap := s.snapshotNow()
	out := map[string]tenantPermissions{}
	for tenant, roles := range snap.roles[*req.User.Key] {
		if len(req.Tenants) > 0 && !slices.Contains(req.Tenants, tenant) {
			continue
		}
		perms := []string{}
		for _, role := range roles {
			for p := range snap.grants[role] {
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
			Roles:       slices.Clone(roles),
		}
	}
	writeJSON(w, http.StatusOK, out)
}
