package permit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// change is one step of a write, as the log stores it and the PDP view
// applies it. A write is a list of changes, logged as one line.
type change struct {
	Op         string         `json:"op"`
	Env        *envIDs        `json:"env,omitempty"`
	User       *userRec       `json:"user,omitempty"`
	Tenant     *tenantRec     `json:"tenant,omitempty"`
	Assignment *assignmentRec `json:"assignment,omitempty"`
	Schema     *schemaRecs    `json:"schema,omitempty"`
	Key        string         `json:"key,omitempty"`
}

// The change ops.
const (
	opEnv        = "env"
	opSchema     = "schema"
	opUser       = "user"
	opDropUser   = "drop_user"
	opTenant     = "tenant"
	opDropTenant = "drop_tenant"
	opAssign     = "assign"
	opUnassign   = "unassign"
)

type envIDs struct {
	Version   int    `json:"version"`
	OrgID     string `json:"organization_id"`
	ProjectID string `json:"project_id"`
	EnvID     string `json:"environment_id"`
}

// logVersion is the version the log's env change carries.
const logVersion = 2

type schemaRecs struct {
	Resources map[string]*resourceRec `json:"resources"`
	Roles     map[string]*roleRec     `json:"roles"`
}

// foldEmail is the form emails are compared in: Permit treats them as
// case-insensitive.
func foldEmail(e string) string { return strings.ToLower(e) }

// ---- raw setters: change the state and its indexes, return the undo ----

func (st *state) indexUser(u *userRec, on bool) {
	var email string
	if u.Email != nil {
		email = foldEmail(*u.Email)
	}
	if on {
		st.ids[u.ID] = u.Key
		if email != "" {
			st.emails[email] = u.Key
		}
		return
	}
	delete(st.ids, u.ID)
	if email != "" && st.emails[email] == u.Key {
		delete(st.emails, email)
	}
}

func (st *state) indexTenant(t *tenantRec, on bool) {
	if on {
		st.ids[t.ID] = t.Key
	} else {
		delete(st.ids, t.ID)
	}
}

// put stores e in m under its key, keeping an index up to date, and
// returns how to undo that.
func put[T entity](m map[string]T, e T, index func(T, bool)) func() {
	key := e.base().Key
	old, had := m[key]
	if had {
		index(old, false)
	}
	m[key] = e
	index(e, true)
	return func() {
		index(e, false)
		if had {
			m[key] = old
			index(old, true)
		} else {
			delete(m, key)
		}
	}
}

// drop removes key from m, keeping an index up to date, and returns how to
// undo that.
func drop[T entity](m map[string]T, key string, index func(T, bool)) func() {
	old, had := m[key]
	if !had {
		return func() {}
	}
	index(old, false)
	delete(m, key)
	return func() {
		m[key] = old
		index(old, true)
	}
}

func (st *state) setUser(u *userRec) func()      { return put(st.Users, u, st.indexUser) }
func (st *state) removeUser(key string) func()   { return drop(st.Users, key, st.indexUser) }
func (st *state) setTenant(t *tenantRec) func()  { return put(st.Tenants, t, st.indexTenant) }
func (st *state) removeTenant(key string) func() { return drop(st.Tenants, key, st.indexTenant) }
func bySeq(a, b *assignmentRec) int              { return int(a.seq - b.seq) }

// findAssignment returns the assignment k names, or nil.
func (st *state) findAssignment(k assignKey) *assignmentRec {
	for _, a := range st.byUser[k.user] {
		if a.key() == k {
			return a
		}
	}
	return nil
}

// linkAssignment files a, whose seq is set, under its user.
func (st *state) linkAssignment(a *assignmentRec) {
	list := st.byUser[a.User]
	i, _ := slices.BinarySearchFunc(list, a, bySeq)
	st.byUser[a.User] = slices.Insert(list, i, a)
}

func (st *state) addAssignment(a *assignmentRec) func() {
	st.seq++
	a.seq = st.seq
	st.linkAssignment(a)
	return func() { st.removeAssignment(a.key()) }
}

func (st *state) removeAssignment(k assignKey) func() {
	a := st.findAssignment(k)
	if a == nil {
		return func() {}
	}
	list := slices.DeleteFunc(st.byUser[k.user], func(x *assignmentRec) bool { return x == a })
	if len(list) == 0 {
		delete(st.byUser, k.user)
	} else {
		st.byUser[k.user] = list
	}
	return func() { st.linkAssignment(a) }
}

// sortedAssignments is every assignment in creation order.
func (st *state) sortedAssignments() []*assignmentRec {
	var out []*assignmentRec
	for _, list := range st.byUser {
		out = append(out, list...)
	}
	slices.SortFunc(out, bySeq)
	return out
}

// copySchema deep-copies the resources and roles.
func (st *state) copySchema() schemaRecs {
	data, err := json.Marshal(schemaRecs{st.Resources, st.Roles})
	if err != nil {
		panic(fmt.Sprintf("permit stand-in: marshal schema: %v", err)) // only plain data inside
	}
	var out schemaRecs
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("permit stand-in: unmarshal schema: %v", err))
	}
	return out
}

// apply replays one logged change.
func (st *state) apply(c change) error {
	switch {
	case c.Op == opEnv && c.Env != nil:
		if c.Env.Version != logVersion {
			return fmt.Errorf("unsupported version %d", c.Env.Version)
		}
		st.OrgID, st.ProjectID, st.EnvID = c.Env.OrgID, c.Env.ProjectID, c.Env.EnvID
	case c.Op == opSchema && c.Schema != nil:
		st.Resources, st.Roles = nonNil(c.Schema.Resources), nonNil(c.Schema.Roles)
	case c.Op == opUser && c.User != nil:
		st.setUser(c.User)
	case c.Op == opDropUser:
		st.removeUser(c.Key)
	case c.Op == opTenant && c.Tenant != nil:
		st.setTenant(c.Tenant)
	case c.Op == opDropTenant:
		st.removeTenant(c.Key)
	case c.Op == opAssign && c.Assignment != nil:
		st.removeAssignment(c.Assignment.key())
		st.addAssignment(c.Assignment)
	case c.Op == opUnassign && c.Assignment != nil:
		st.removeAssignment(c.Assignment.key())
	default:
		return fmt.Errorf("unknown change %q", c.Op)
	}
	return nil
}

// ---- tx: one write ----

// tx is a write in progress. Its methods change the state at once and
// remember both how to undo that (a failed write leaves the state as it
// was) and what to log and publish to the PDP when it succeeds. Handlers
// read the state through the embedded *state; every change goes through a
// tx method, or, for resources and roles, follows touchSchema.
type tx struct {
	*state
	now     time.Time
	changes []change
	undo    []func()
	schema  bool // touchSchema has run
}

func (t *tx) record(c change, undo func()) {
	t.changes = append(t.changes, c)
	t.undo = append(t.undo, undo)
}

func (t *tx) rollback() {
	for _, u := range slices.Backward(t.undo) {
		u()
	}
}

// touchSchema must run before a write changes any resource or role: it
// saves the schema so the write can be undone, and makes the commit log
// and publish the whole (small) schema.
func (t *tx) touchSchema() {
	if t.schema {
		return
	}
	t.schema = true
	saved := t.copySchema()
	t.undo = append(t.undo, func() { t.Resources, t.Roles = saved.Resources, saved.Roles })
}

// finish appends the schema change, when the schema was touched, to the
// changes to log.
func (t *tx) finish() []change {
	if t.schema {
		t.changes = append(t.changes, change{Op: opSchema, Schema: &schemaRecs{t.Resources, t.Roles}})
	}
	return t.changes
}

func (t *tx) putUser(u *userRec) { t.record(change{Op: opUser, User: u}, t.setUser(u)) }

// dropUser removes a user and its role assignments.
func (t *tx) dropUser(u *userRec) {
	for _, a := range slices.Clone(t.byUser[u.Key]) {
		t.unassign(a)
	}
	t.record(change{Op: opDropUser, Key: u.Key}, t.removeUser(u.Key))
}

func (t *tx) putTenant(tn *tenantRec) { t.record(change{Op: opTenant, Tenant: tn}, t.setTenant(tn)) }

// dropTenant removes a tenant and the role assignments in it. It scans
// every assignment: deleting a tenant is rare.
func (t *tx) dropTenant(tn *tenantRec) {
	t.unassignWhere(func(a *assignmentRec) bool { return a.Tenant == tn.Key })
	t.record(change{Op: opDropTenant, Key: tn.Key}, t.removeTenant(tn.Key))
}

func (t *tx) unassignWhere(match func(*assignmentRec) bool) {
	for _, a := range t.sortedAssignments() {
		if match(a) {
			t.unassign(a)
		}
	}
}

func (t *tx) assign(a *assignmentRec) {
	t.record(change{Op: opAssign, Assignment: a}, t.addAssignment(a))
}

func (t *tx) unassign(a *assignmentRec) {
	t.record(change{Op: opUnassign, Assignment: a}, t.removeAssignment(a.key()))
}
