package policy

import (
	"strings"
	"testing"
)

func TestRoleKeysInPolicyOrder(t *testing.T) {
	p := Policy{Roles: []Role{{Key: "viewer"}, {Key: "admin"}}}
	if got := strings.Join(p.RoleKeys(), ","); got != "viewer,admin" {
		t.Errorf("RoleKeys = %s", got)
	}
}
