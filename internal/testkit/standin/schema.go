// Package standin helps tests run the local stand-ins. It lives apart from
// testkit so that tests needing only a clock or a form do not build the
// stand-ins. Only test files import it.
package standin

import (
	"reportgate/internal/devstack/permit"
	"reportgate/internal/policy"
)

// PermitSchema is p in the Permit stand-in's own types, which it has
// because the stand-ins import nothing of the product; tests seed the
// stand-in with it. The element types have the same fields, so a field
// added to one side and not the other stops this from compiling.
func PermitSchema(p policy.Policy) permit.Schema {
	var sc permit.Schema
	for _, r := range p.Resources {
		sc.Resources = append(sc.Resources, permit.Resource(r))
	}
	for _, r := range p.Roles {
		sc.Roles = append(sc.Roles, permit.Role(r))
	}
	return sc
}
