// Package policy is reportgate's authorization model as code: the resources,
// actions and roles that Permit.io must hold, read from an embedded JSON file.
//
// The same Policy value seeds the local Permit stand-in
// (internal/devstack/permit, converted to the stand-in's own Schema, since
// the stand-ins import nothing of the product) and drives `reportgate
// policy apply`, which compares it with what a Permit environment holds
// (see Plan) and writes the difference through the SDK. Keeping one source means the stand-in and the
// real environment cannot drift apart silently.
//
// The model is Permit's RBAC minimum: a resource has
// a key and a set of action keys; a role has permissions written
// "resource:action" and may extend other roles, inheriting all their
// permissions transitively. Permit has no wildcard permission, so a role that
// should do everything lists every permission.
package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

//go:embed policy.json
var defaultPolicy []byte

// Resource is a resource type and the actions that can be taken on it.
type Resource struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Actions     []string `json:"actions"`
}

// Role is a tenant-level role: a named set of "resource:action" permissions,
// plus whatever the roles it extends grant.
type Role struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Extends     []string `json:"extends,omitempty"`
}

// Policy is the whole authorization model.
type Policy struct {
	Resources []Resource `json:"resources"`
	Roles     []Role     `json:"roles"`
}

// keyPattern is the slug Permit accepts for resource, action and role keys
// (URL-friendly; the API documents keys as slugs usable in paths).
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Default parses the policy shipped inside the binary.
func Default() (Policy, error) {
	p, err := Parse(defaultPolicy)
	if err != nil {
		return Policy{}, fmt.Errorf("embedded policy.json: %w", err)
	}
	return p, nil
}

// Parse decodes and validates a policy file. It is strict: unknown fields,
// trailing data, and any reference that does not resolve are errors, so a
// typo in the file fails at load time instead of silently denying users.
func Parse(data []byte) (Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Policy{}, errors.New("decode policy: unexpected data after the policy object")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Validate reports every problem in p at once: bad or duplicate keys,
// permissions that name an undeclared resource or action, extends that name
// an undeclared role, and extends cycles.
func (p Policy) Validate() error {
	var errs []error
	actions := map[string]bool{} // "resource:action"
	resources := map[string]bool{}
	for i, r := range p.Resources {
		where := fmt.Sprintf("resources[%d] %q", i, r.Key)
		errs = checkEntity(errs, where, "resource", r.Key, r.Name, resources)
		if len(r.Actions) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one action is required", where))
		}
		seen := map[string]bool{}
		for _, a := range r.Actions {
			if !keyPattern.MatchString(a) {
				errs = append(errs, fmt.Errorf("%s: action %q must match %s", where, a, keyPattern))
			}
			if seen[a] {
				errs = append(errs, fmt.Errorf("%s: duplicate action %q", where, a))
			}
			seen[a] = true
			actions[r.Key+":"+a] = true
		}
	}

	roles := map[string]bool{}
	for _, r := range p.Roles {
		roles[r.Key] = true
	}
	seenRoles := map[string]bool{}
	for i, r := range p.Roles {
		where := fmt.Sprintf("roles[%d] %q", i, r.Key)
		errs = checkEntity(errs, where, "role", r.Key, r.Name, seenRoles)
		seen := map[string]bool{}
		for _, perm := range r.Permissions {
			if !actions[perm] {
				errs = append(errs, fmt.Errorf("%s: permission %q is not a declared resource:action", where, perm))
			}
			if seen[perm] {
				errs = append(errs, fmt.Errorf("%s: duplicate permission %q", where, perm))
			}
			seen[perm] = true
		}
		for _, parent := range r.Extends {
			if !roles[parent] {
				errs = append(errs, fmt.Errorf("%s: extends undeclared role %q", where, parent))
			}
		}
	}
	if cycle := p.extendsCycle(); cycle != nil {
		errs = append(errs, fmt.Errorf("roles: extends cycle %s", strings.Join(cycle, " -> ")))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid policy: %w", err)
	}
	return nil
}

// checkEntity appends the problems with a resource's or role's key and
// name; seen collects the keys met so far, to find duplicates.
func checkEntity(errs []error, where, kind, key, name string, seen map[string]bool) []error {
	if !keyPattern.MatchString(key) {
		errs = append(errs, fmt.Errorf("%s: key must match %s", where, keyPattern))
	}
	if seen[key] {
		errs = append(errs, fmt.Errorf("%s: duplicate %s key", where, kind))
	}
	seen[key] = true
	if strings.TrimSpace(name) == "" {
		errs = append(errs, fmt.Errorf("%s: name is required", where))
	}
	return errs
}

// extendsCycle returns the first cycle in the extends graph, as a path that
// starts and ends with the same role, or nil.
func (p Policy) extendsCycle() []string {
	const (
		unvisited = iota
		inProgress
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(key string) []string
	visit = func(key string) []string {
		switch state[key] {
		case inProgress:
			start := slices.Index(path, key)
			return append(slices.Clone(path[start:]), key)
		case done:
			return nil
		}
		state[key] = inProgress
		path = append(path, key)
		if r, ok := p.Role(key); ok {
			for _, parent := range r.Extends {
				if c := visit(parent); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[key] = done
		return nil
	}
	for _, r := range p.Roles {
		if c := visit(r.Key); c != nil {
			return c
		}
	}
	return nil
}

// Role returns the role with the given key.
func (p Policy) Role(key string) (Role, bool) {
	for _, r := range p.Roles {
		if r.Key == key {
			return r, true
		}
	}
	return Role{}, false
}

// Resource returns the resource with the given key.
func (p Policy) Resource(key string) (Resource, bool) {
	for _, r := range p.Resources {
		if r.Key == key {
			return r, true
		}
	}
	return Resource{}, false
}

// Permissions returns every "resource:action" the role grants, its own and
// those of the roles it extends (transitively), sorted and without
// duplicates. An unknown role grants nothing. It tolerates cycles, because it
// is also used on policies read back from Permit, which were not validated
// here.
func (p Policy) Permissions(role string) []string {
	var perms []string
	seen := map[string]bool{}
	var walk func(key string)
	walk = func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		r, ok := p.Role(key)
		if !ok {
			return
		}
		perms = append(perms, r.Permissions...)
		for _, parent := range r.Extends {
			walk(parent)
		}
	}
	walk(role)
	slices.Sort(perms)
	return slices.Compact(perms)
}

// RoleKeys lists the policy's roles, the ones a person may be given.
func (p Policy) RoleKeys() []string {
	keys := make([]string, 0, len(p.Roles))
	for _, r := range p.Roles {
		keys = append(keys, r.Key)
	}
	return keys
}
