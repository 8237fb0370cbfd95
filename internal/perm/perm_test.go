package perm_test

import (
	"slices"
	"testing"

	"reportgate/internal/authz"
	"reportgate/internal/perm"
	"reportgate/internal/policy"
)

// The constants are the policy's permissions, no more and no fewer.
func TestNamesArePolicyPermissions(t *testing.T) {
	t.Parallel()
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	var inPolicy []string
	for _, r := range p.Resources {
		for _, a := range r.Actions {
			inPolicy = append(inPolicy, r.Key+":"+a)
		}
	}
	var named []string
	for _, n := range perm.All() {
		named = append(named, string(n))
	}
	slices.Sort(inPolicy)
	slices.Sort(named)
	if !slices.Equal(named, inPolicy) {
		t.Errorf("perm names %v, policy permissions %v", named, inPolicy)
	}
}

func TestRequestSplitsResourceAndAction(t *testing.T) {
	t.Parallel()
	if got, want := perm.UsersManage.Request(), (authz.Request{Resource: "users", Action: "manage"}); got != want {
		t.Errorf("UsersManage.Request() = %+v, want %+v", got, want)
	}
}
