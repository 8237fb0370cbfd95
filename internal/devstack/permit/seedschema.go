package permit

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Schema is the resources and roles a fresh environment starts with, as a
// list a caller can write out (Config.Schema). The stand-in has its own
// type, rather than the product's policy, so that it stays a stand-in for
// Permit and not a second copy of the app: whoever starts it converts.
type Schema struct {
	Resources []Resource
	Roles     []Role
}

// Resource is a resource type and the keys of the actions on it.
type Resource struct {
	Key         string
	Name        string
	Description string
	Actions     []string
}

// Role is a tenant-level role: its own "resource:action" permissions and
// the keys of the roles it extends, whose permissions it inherits.
type Role struct {
	Key         string
	Name        string
	Description string
	Permissions []string
	Extends     []string
}

// newState is a fresh environment: the schema it is seeded with and the
// default tenant, which every Permit environment starts with.
//
// The schema goes in through the same checks the API makes when it is
// created call by call, so a seed is refused for whatever Permit would
// refuse: a key that is not a slug, an empty name (a Go zero value reads
// as the field left out), a duplicate key, a permission on an undeclared
// resource or action, extends naming an unknown role or closing a cycle.
// Every problem is reported, not just the first.
func newState(sc Schema, now time.Time) (*state, error) {
	st := emptyState()
	st.OrgID, st.ProjectID, st.EnvID = newID(), newID(), newID()
	st.setTenant(&tenantRec{
		meta: newMeta(DefaultTenant, now), Name: "Default Tenant", Attributes: map[string]any{},
	})
	// A throwaway transaction: nothing is logged or published yet, the
	// caller decides what becomes of the state.
	t := &tx{state: st, now: now}
	var errs []error
	for _, r := range sc.Resources {
		actions := map[string]actionBody{}
		for _, a := range r.Actions {
			actions[a] = actionBody{}
		}
		body := resourceBody{Key: &r.Key, Name: optional(r.Name), Description: optional(r.Description), Actions: &actions}
		err := cmp.Or(checkCreate(body), body.check())
		if err == nil {
			_, err = t.addResource(body)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("resource %q: %w", r.Key, err))
		}
	}
	// Every role exists before any extends is set, because a role may
	// extend one listed after it.
	type pending struct {
		role    *roleRec
		extends []string
	}
	var created []pending
	for _, r := range sc.Roles {
		body := roleBody{Key: &r.Key, Name: optional(r.Name), Description: optional(r.Description), Permissions: &r.Permissions}
		var role *roleRec
		err := checkCreate(body)
		if err == nil {
			role, err = t.addRole(body)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("role %q: %w", r.Key, err))
			continue
		}
		created = append(created, pending{role, r.Extends})
	}
	for _, p := range created {
		if err := st.setExtends(p.role, p.extends); err != nil {
			errs = append(errs, fmt.Errorf("role %q: %w", p.role.Key, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return st, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
