package handlers

import (
	"slices"
	"testing"

	"reportgate/internal/perm"
	"reportgate/internal/policy"
)

// The denied page names, for every permission, words of its own and a
// role the policy says grants it.
func TestWordingNamesARoleThatGrantsThePermission(t *testing.T) {
	t.Parallel()
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range perm.All() {
		w := wordingOf(p)
		if w.asked == string(p) {
			t.Errorf("%s has no words for the denied page", p)
		}
		if !slices.Contains(pol.Permissions(w.role), string(p)) {
			t.Errorf("%s: the denied page names role %q, which the policy does not grant it", p, w.role)
		}
	}
}
