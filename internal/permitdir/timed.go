package permitdir

import (
	"context"
	"time"
)

// Timed is a Client that reports how long each directory operation took
// (errors included) to Observe, named by operation: "sync_user",
// "assign_role", "unassign_role", "assigned_roles", "delete_user". An
// operation may be several HTTP requests (SyncUser is a GET then a write);
// it is timed as the caller waits for it.
type Timed struct {
	*Client
	Observe func(operation string, d time.Duration)
}

func (t Timed) since(operation string, start time.Time) {
	t.Observe(operation, time.Since(start))
}

// SyncUser is Client.SyncUser, timed.
func (t Timed) SyncUser(ctx context.Context, key, email, name string) error {
	defer t.since("sync_user", time.Now())
	return t.Client.SyncUser(ctx, key, email, name)
}

// AssignRole is Client.AssignRole, timed.
func (t Timed) AssignRole(ctx context.Context, key, role string) error {
	defer t.since("assign_role", time.Now())
	return t.Client.AssignRole(ctx, key, role)
}

// UnassignRole is Client.UnassignRole, timed.
func (t Timed) UnassignRole(ctx context.Context, key, role string) error {
	defer t.since("unassign_role", time.Now())
	return t.Client.UnassignRole(ctx, key, role)
}

// AssignedRoles is Client.AssignedRoles, timed.
func (t Timed) AssignedRoles(ctx context.Context, key string) ([]string, error) {
	defer t.since("assigned_roles", time.Now())
	return t.Client.AssignedRoles(ctx, key)
}

// DeleteUser is Client.DeleteUser, timed.
func (t Timed) DeleteUser(ctx context.Context, key string) error {
	defer t.since("delete_user", time.Now())
	return t.Client.DeleteUser(ctx, key)
}
