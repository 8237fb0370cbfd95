package permit

import (
	"cmp"
	"slices"
	"time"
)

// state is everything the API can write. Entities are keyed by their key,
// which Permit never lets you change, so references between them (role
// assignments, permissions, extends) use keys too.
//
// Users, tenants and role assignments can number in the hundreds of
// thousands, so each lookup a write needs has an index and nothing is ever
// copied whole: a write changes the records it touches (see tx). Resources
// and roles are few, so a write to the schema saves a copy of it instead.
type state struct {
	OrgID     string
	ProjectID string
	EnvID     string
	Users     map[string]*userRec
	Tenants   map[string]*tenantRec
	Resources map[string]*resourceRec
	Roles     map[string]*roleRec

	ids    map[string]string           // user or tenant id → key
	emails map[string]string           // folded email → user key
	byUser map[string][]*assignmentRec // role assignments by user (a handful each), ordered by seq
	seq    int64                       // creation order of assignments
}

// legacyState is the whole-file format older stand-ins wrote; it is read
// once and then replaced by the log.
type legacyState struct {
	Version     int                     `json:"version"`
	OrgID       string                  `json:"organization_id"`
	ProjectID   string                  `json:"project_id"`
	EnvID       string                  `json:"environment_id"`
	Users       map[string]*userRec     `json:"users"`
	Tenants     map[string]*tenantRec   `json:"tenants"`
	Assignments []*assignmentRec        `json:"role_assignments"`
	Resources   map[string]*resourceRec `json:"resources"`
	Roles       map[string]*roleRec     `json:"roles"`
}

type assignKey struct{ user, role, tenant string }

func emptyState() *state {
	return &state{
		Users:     map[string]*userRec{},
		Tenants:   map[string]*tenantRec{},
		Resources: map[string]*resourceRec{},
		Roles:     map[string]*roleRec{},
		ids:       map[string]string{},
		emails:    map[string]string{},
		byUser:    map[string][]*assignmentRec{},
	}
}

// meta is what every top-level entity has. Embedded, so the persisted
// JSON stays flat.
type meta struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newMeta(key string, now time.Time) meta {
	return meta{ID: newID(), Key: key, CreatedAt: now, UpdatedAt: now}
}

func (m *meta) base() *meta { return m }

// entity is a record with meta: a user, tenant, resource or role.
type entity interface{ base() *meta }

type userRec struct {
	meta
	Email      *string        `json:"email"`
	FirstName  *string        `json:"first_name"`
	LastName   *string        `json:"last_name"`
	Attributes map[string]any `json:"attributes"`
}

type tenantRec struct {
	meta
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Attributes  map[string]any `json:"attributes"`
}

type assignmentRec struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Role      string    `json:"role"`
	Tenant    string    `json:"tenant"`
	CreatedAt time.Time `json:"created_at"`
	seq       int64     // list order; the log keeps it by its own order
}

func (a *assignmentRec) key() assignKey { return assignKey{a.User, a.Role, a.Tenant} }

type resourceRec struct {
	meta
	Name        string                `json:"name"`
	URN         *string               `json:"urn"`
	Description *string               `json:"description"`
	Actions     map[string]*actionRec `json:"actions"`
	Attributes  map[string]*attrRec   `json:"attributes"`
}

type actionRec struct {
	ID          string         `json:"id"`
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Attributes  map[string]any `json:"attributes"`
}

type attrRec struct {
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	Description *string `json:"description"`
}

type roleRec struct {
	meta
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	Permissions []string          `json:"permissions"`
	Extends     []string          `json:"extends"`
	Attributes  map[string]string `json:"attributes"`
}

// sortByCreation orders entities by creation time, then key — the order
// Permit's list endpoints use.
func sortByCreation[T entity](out []T) []T {
	slices.SortFunc(out, func(a, b T) int {
		ma, mb := a.base(), b.base()
		return cmp.Or(ma.CreatedAt.Compare(mb.CreatedAt), cmp.Compare(ma.Key, mb.Key))
	})
	return out
}

// find looks an entity up by key or by id, as every Permit path segment
// allows. It scans for ids, so it serves only the small schema maps.
func find[T entity](m map[string]T, ref string) (T, bool) {
	if e, ok := m[ref]; ok {
		return e, true
	}
	for _, e := range m {
		if e.base().ID == ref {
			return e, true
		}
	}
	var none T
	return none, false
}

// These return nil when there is no such entity.

func (st *state) user(ref string) *userRec         { return findIndexed(st.Users, st.ids, ref) }
func (st *state) tenant(ref string) *tenantRec     { return findIndexed(st.Tenants, st.ids, ref) }
func (st *state) role(ref string) *roleRec         { e, _ := find(st.Roles, ref); return e }
func (st *state) resource(ref string) *resourceRec { e, _ := find(st.Resources, ref); return e }

// findIndexed is find for the large maps, whose ids are indexed.
func findIndexed[T entity](m map[string]T, ids map[string]string, ref string) T {
	if e, ok := m[ref]; ok {
		return e
	}
	if e, ok := m[ids[ref]]; ok && e.base().ID == ref {
		return e
	}
	var none T
	return none
}
