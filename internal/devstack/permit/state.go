package permit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"reportgate/internal/policy"
)

// stateFile is the name of the persisted state inside Config.DataDir.
const stateFile = "permit-standin.json"

// state is everything the API can write. Entities are keyed by their key,
// which Permit never lets you change, so references between them (role
// assignments, permissions, extends) use keys too.
type state struct {
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
}

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

// newState is a fresh environment: the policy's schema and the default
// tenant, which every Permit environment starts with (§3).
func newState(p policy.Policy, now time.Time) *state {
	st := &state{
		Version:   1,
		OrgID:     newID(),
		ProjectID: newID(),
		EnvID:     newID(),
		Users:     map[string]*userRec{},
		Tenants:   map[string]*tenantRec{},
		Resources: map[string]*resourceRec{},
		Roles:     map[string]*roleRec{},
	}
	st.Tenants[DefaultTenant] = &tenantRec{
		meta: newMeta(DefaultTenant, now), Name: "Default Tenant", Attributes: map[string]any{},
	}
	for _, r := range p.Resources {
		rec := &resourceRec{
			meta: newMeta(r.Key, now), Name: r.Name, Description: optional(r.Description),
			Actions: map[string]*actionRec{}, Attributes: map[string]*attrRec{},
		}
		for _, a := range r.Actions {
			rec.Actions[a] = &actionRec{ID: newID(), Name: &a, Attributes: map[string]any{}}
		}
		st.Resources[r.Key] = rec
	}
	for _, r := range p.Roles {
		st.Roles[r.Key] = &roleRec{
			meta: newMeta(r.Key, now), Name: r.Name, Description: optional(r.Description),
			Permissions: slices.Clone(r.Permissions), Extends: slices.Clone(r.Extends),
			Attributes: map[string]string{},
		}
	}
	return st
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// clone deep-copies the state so a failed write leaves the original intact.
func (st *state) clone() *state {
	data, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("permit stand-in: marshal state: %v", err)) // only plain data inside
	}
	var out state
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("permit stand-in: unmarshal state: %v", err))
	}
	return &out
}

// sorted lists a map's entities ordered by creation time, then key — the
// order Permit's list endpoints use.
func sorted[T entity](m map[string]T) []T {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b T) int {
		ma, mb := a.base(), b.base()
		return cmp.Or(ma.CreatedAt.Compare(mb.CreatedAt), cmp.Compare(ma.Key, mb.Key))
	})
	return out
}

// find looks an entity up by key or by id, as every Permit path segment
// allows (§4).
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

func (st *state) user(ref string) *userRec         { e, _ := find(st.Users, ref); return e }
func (st *state) tenant(ref string) *tenantRec     { e, _ := find(st.Tenants, ref); return e }
func (st *state) role(ref string) *roleRec         { e, _ := find(st.Roles, ref); return e }
func (st *state) resource(ref string) *resourceRec { e, _ := find(st.Resources, ref); return e }

// schema is the state's roles as a policy, so the PDP expands extends with
// the same code that validates policy files. Resources play no part in that
// expansion, so they are left out.
func (st *state) schema() policy.Policy {
	var p policy.Policy
	for _, r := range st.Roles {
		p.Roles = append(p.Roles, policy.Role{Key: r.Key, Name: r.Name, Permissions: r.Permissions, Extends: r.Extends})
	}
	return p
}

// load reads persisted state; (nil, nil) means there is none yet.
func (s *Server) load() (*state, error) {
	if s.dataDir == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(s.dataDir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decode %s: %w", stateFile, err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("decode %s: unsupported version %d", stateFile, st.Version)
	}
	return &st, nil
}

// save writes the state atomically (temp file + rename), so a crash never
// leaves a half-written file behind.
func (s *Server) save(st *state) error {
	if s.dataDir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(s.dataDir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dataDir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
