package policy

import (
	"fmt"
	"slices"
	"strings"
)

// ChangeKind names one kind of write `policy apply` performs.
type ChangeKind string

// The kinds of change Plan produces.
const (
	CreateResource ChangeKind = "create-resource"
	UpdateResource ChangeKind = "update-resource"
	DeleteResource ChangeKind = "delete-resource"
	CreateRole     ChangeKind = "create-role"
	UpdateRole     ChangeKind = "update-role"
	DeleteRole     ChangeKind = "delete-role"
)

// Change is one step that brings an environment from its current policy to
// the desired one. Key names the resource or role; Detail is for people
// reading a dry run. The desired Resource or Role for a create or update is
// found with Policy.Resource / Policy.Role.
type Change struct {
	Kind   ChangeKind
	Key    string
	Detail string
}

func (c Change) String() string {
	if c.Detail == "" {
		return fmt.Sprintf("%s %s", c.Kind, c.Key)
	}
	return fmt.Sprintf("%s %s: %s", c.Kind, c.Key, c.Detail)
}

// Plan lists the changes that turn current into desired, in an order that
// can be applied one by one: resources before the roles whose permissions
// name them, a role's parents before the role, and deletions (only when
// prune is set) last, roles before resources. Plan(p, p, _) is empty.
//
// Without prune nothing is ever deleted, and an update never removes a
// permission, parent or action that only current has: a shared Permit
// environment may hold things this policy does not own. With prune, updates
// also remove them, so the result matches desired exactly.
func Plan(current, desired Policy, prune bool) []Change {
	var changes []Change
	for _, want := range desired.Resources {
		have, ok := current.Resource(want.Key)
		if !ok {
			changes = append(changes, Change{CreateResource, want.Key, "actions " + list(want.Actions)})
			continue
		}
		var diff []string
		diff = appendField(diff, "name", have.Name, want.Name)
		diff = appendField(diff, "description", have.Description, want.Description)
		diff = appendSet(diff, "actions", have.Actions, want.Actions, prune)
		if len(diff) > 0 {
			changes = append(changes, Change{UpdateResource, want.Key, strings.Join(diff, "; ")})
		}
	}

	for _, want := range parentsFirst(desired.Roles) {
		have, ok := current.Role(want.Key)
		if !ok {
			detail := "permissions " + list(want.Permissions)
			if len(want.Extends) > 0 {
				detail += "; extends " + list(want.Extends)
			}
			changes = append(changes, Change{CreateRole, want.Key, detail})
			continue
		}
		var diff []string
		diff = appendField(diff, "name", have.Name, want.Name)
		diff = appendField(diff, "description", have.Description, want.Description)
		diff = appendSet(diff, "permissions", have.Permissions, want.Permissions, prune)
		diff = appendSet(diff, "extends", have.Extends, want.Extends, prune)
		if len(diff) > 0 {
			changes = append(changes, Change{UpdateRole, want.Key, strings.Join(diff, "; ")})
		}
	}

	if !prune {
		return changes
	}
	for _, have := range current.Roles {
		if _, ok := desired.Role(have.Key); !ok {
			changes = append(changes, Change{DeleteRole, have.Key, ""})
		}
	}
	for _, have := range current.Resources {
		if _, ok := desired.Resource(have.Key); !ok {
			changes = append(changes, Change{DeleteResource, have.Key, ""})
		}
	}
	return changes
}

// parentsFirst orders roles so every role comes after the roles it extends
// (Permit rejects extends naming a role that does not exist yet), keeping
// declaration order otherwise. Parents outside the list are ignored; cycles
// are broken at the first repeat (Validate rejects them anyway).
func parentsFirst(roles []Role) []Role {
	byKey := map[string]Role{}
	for _, r := range roles {
		byKey[r.Key] = r
	}
	var out []Role
	placed := map[string]bool{}
	var place func(r Role)
	place = func(r Role) {
		if placed[r.Key] {
			return
		}
		placed[r.Key] = true
		for _, parent := range r.Extends {
			if pr, ok := byKey[parent]; ok {
				place(pr)
			}
		}
		out = append(out, r)
	}
	for _, r := range roles {
		place(r)
	}
	return out
}

func appendField(diff []string, name, have, want string) []string {
	if have == want {
		return diff
	}
	return append(diff, fmt.Sprintf("%s %q -> %q", name, have, want))
}

// appendSet describes how a set-valued field changes. Order never matters:
// Permit does not preserve the order of permissions or actions.
func appendSet(diff []string, name string, have, want []string, prune bool) []string {
	add := missing(want, have)
	var remove []string
	if prune {
		remove = missing(have, want)
	}
	if len(add) > 0 {
		diff = append(diff, fmt.Sprintf("add %s %s", name, list(add)))
	}
	if len(remove) > 0 {
		diff = append(diff, fmt.Sprintf("remove %s %s", name, list(remove)))
	}
	return diff
}

func list(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	return strings.Join(sorted, ", ")
}
