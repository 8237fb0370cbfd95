package policy

import (
	"slices"
	"strings"
	"testing"
)

func kinds(changes []Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, string(c.Kind)+" "+c.Key)
	}
	return out
}

func TestPlanIsIdempotent(t *testing.T) {
	t.Parallel()
	p := mustDefault(t)
	for _, prune := range []bool{false, true} {
		if got := Plan(p, p, prune); len(got) != 0 {
			t.Errorf("Plan(p, p, prune=%v) = %v, want nothing", prune, got)
		}
	}
}

func TestPlanIgnoresOrder(t *testing.T) {
	t.Parallel()
	p := mustDefault(t)
	shuffled := Policy{}
	for _, r := range slices.Backward(p.Resources) {
		r.Actions = slices.Clone(r.Actions)
		slices.Reverse(r.Actions)
		shuffled.Resources = append(shuffled.Resources, r)
	}
	for _, r := range slices.Backward(p.Roles) {
		r.Permissions = slices.Clone(r.Permissions)
		slices.Reverse(r.Permissions)
		shuffled.Roles = append(shuffled.Roles, r)
	}
	if got := Plan(shuffled, p, true); len(got) != 0 {
		t.Errorf("Plan over a reordered copy = %v, want nothing", got)
	}
}

func TestPlanFromEmpty(t *testing.T) {
	t.Parallel()
	p := mustDefault(t)
	got := kinds(Plan(Policy{}, p, false))
	want := []string{
		"create-resource reports", "create-resource sync", "create-resource users", "create-resource audit",
		"create-role viewer", "create-role analyst", "create-role admin",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Plan(empty, default) = %v, want %v", got, want)
	}
}

func TestPlanCreatesParentsFirst(t *testing.T) {
	t.Parallel()
	desired := Policy{
		Resources: []Resource{{Key: "doc", Name: "Doc", Actions: []string{"read"}}},
		Roles: []Role{
			{Key: "owner", Name: "Owner", Extends: []string{"writer"}},
			{Key: "writer", Name: "Writer", Extends: []string{"reader"}},
			{Key: "reader", Name: "Reader", Permissions: []string{"doc:read"}},
		},
	}
	got := kinds(Plan(Policy{}, desired, false))
	want := []string{"create-resource doc", "create-role reader", "create-role writer", "create-role owner"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPlanUpdatesAndPrune(t *testing.T) {
	t.Parallel()
	desired := mustDefault(t)
	current := Policy{
		Resources: []Resource{
			{Key: "reports", Name: "Reports (old)", Description: desired.Resources[0].Description, Actions: []string{"view", "print"}},
			desired.Resources[1],
			desired.Resources[2],
			desired.Resources[3],
			{Key: "legacy", Name: "Legacy", Actions: []string{"use"}},
		},
		Roles: []Role{
			{Key: "viewer", Name: "Viewer", Description: "Reads reports.", Permissions: []string{"reports:view", "reports:print"}},
			desired.Roles[1],
			desired.Roles[2],
			{Key: "intern", Name: "Intern"},
		},
	}

	keep := Plan(current, desired, false)
	// viewer only has an extra permission: without prune that is left alone.
	if got, want := kinds(keep), []string{"update-resource reports"}; !slices.Equal(got, want) {
		t.Fatalf("without prune got %v, want %v", got, want)
	}
	for _, c := range keep {
		if strings.Contains(c.Detail, "remove") {
			t.Errorf("without prune %v removes something", c)
		}
	}
	if d := keep[0].Detail; !strings.Contains(d, `name "Reports (old)" -> "Reports"`) || !strings.Contains(d, "add actions export") {
		t.Errorf("resource detail = %q", d)
	}

	pruned := Plan(current, desired, true)
	want := []string{"update-resource reports", "update-role viewer", "delete-role intern", "delete-resource legacy"}
	if got := kinds(pruned); !slices.Equal(got, want) {
		t.Fatalf("with prune got %v, want %v", got, want)
	}
	if d := pruned[0].Detail; !strings.Contains(d, "remove actions print") {
		t.Errorf("pruned resource detail = %q", d)
	}
	if d := pruned[1].Detail; !strings.Contains(d, "remove permissions reports:print") {
		t.Errorf("pruned role detail = %q", d)
	}
}
