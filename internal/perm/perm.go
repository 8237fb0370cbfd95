// Package perm names the permissions reportgate asks Permit.io about, in
// the policy's own words ("resource:action"), so that the access map in
// handlers/routes.go reads like the policy.
package perm

import (
	"strings"

	"reportgate/internal/authz"
)

// Name is a permission as the policy writes it: "resource:action".
type Name string

// The permissions of the policy (internal/policy/policy.json); a test keeps
// the two lists equal.
const (
	ReportsView   Name = "reports:view"
	ReportsExport Name = "reports:export"
	SyncManage    Name = "sync:manage"
	UsersManage   Name = "users:manage"
	AuditView     Name = "audit:view"
)

// All is every permission above.
func All() []Name {
	return []Name{ReportsView, ReportsExport, SyncManage, UsersManage, AuditView}
}

// Request is the question to put to Permit for n.
func (n Name) Request() authz.Request {
	resource, action, _ := strings.Cut(string(n), ":")
	return authz.Request{Resource: resource, Action: action}
}
