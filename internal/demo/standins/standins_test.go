package standins

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
	"reportgate/internal/testkit/standin"
)

const testKey = "permit_key_standins"

// TestDevAppliesThePolicyToAnOldStandin: a stand-in whose persisted
// schema predates audit:view gets it when dev starts.
func TestDevAppliesThePolicyToAnOldStandin(t *testing.T) {
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	old := pol
	old.Resources = slices.DeleteFunc(slices.Clone(pol.Resources), func(r policy.Resource) bool { return r.Key == "audit" })
	old.Roles = nil
	for _, r := range pol.Roles {
		r.Permissions = slices.DeleteFunc(slices.Clone(r.Permissions), func(p string) bool { return p == "audit:view" })
		old.Roles = append(old.Roles, r)
	}
	srv := standin.StartPermit(t, permit.Config{APIKey: testKey, Schema: Schema(old)})
	if err := ApplyPolicy(context.Background(), testKey, srv.URL, pol); err != nil {
		t.Fatal(err)
	}
	client, err := policy.Remote{APIKey: testKey, APIURL: srv.URL}.Client()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	changes, err := policy.Apply(context.Background(), client, pol, false, true, &out)
	if err != nil || len(changes) != 0 {
		t.Errorf("after dev's apply, a dry run still plans %d changes (%v):\n%s", len(changes), err, out.String())
	}
}
