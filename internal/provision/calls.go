package provision

import (
	"context"
	"time"

	"reportgate/internal/webhook"
)

// The collaborators a job calls are wrapped so that every call made from
// a job has its own deadline (Config.CallTimeout), whatever timeout the
// client itself was built with. The job timeout is derived from it, and
// the rescue window from the job timeout; see the package doc.

// within runs call with a context that ends after d.
func within(ctx context.Context, d time.Duration, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return call(ctx)
}

type boundedPermit struct {
	p       Permit
	timeout time.Duration
}

func (b boundedPermit) SyncUser(ctx context.Context, key, email, name string) error {
	return within(ctx, b.timeout, func(ctx context.Context) error { return b.p.SyncUser(ctx, key, email, name) })
}

func (b boundedPermit) AssignRole(ctx context.Context, key, role string) error {
	return within(ctx, b.timeout, func(ctx context.Context) error { return b.p.AssignRole(ctx, key, role) })
}

func (b boundedPermit) DeleteUser(ctx context.Context, key string) error {
	return within(ctx, b.timeout, func(ctx context.Context) error { return b.p.DeleteUser(ctx, key) })
}

type boundedLogtoUsers struct {
	d       LogtoUsers
	timeout time.Duration
}

func (b boundedLogtoUsers) GetUser(ctx context.Context, id string) (u webhook.User, err error) {
	err = within(ctx, b.timeout, func(ctx context.Context) error { u, err = b.d.GetUser(ctx, id); return err })
	return u, err
}

type boundedRevoker struct {
	r       SessionRevoker
	timeout time.Duration
}

func (b boundedRevoker) RevokeUser(ctx context.Context, userID string) (n int, err error) {
	err = within(ctx, b.timeout, func(ctx context.Context) error { n, err = b.r.RevokeUser(ctx, userID); return err })
	return n, err
}
