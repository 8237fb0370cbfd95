package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
	"github.com/permitio/permit-golang/pkg/permit"
)

const (
	// pageSize is the largest page the SDK's List calls accept: it refuses
	// anything above 100 with a PaginationError before sending.
	pageSize = 100
	// maxPages bounds Fetch against a server that ignores `page` and
	// keeps answering full pages; 10,000 resources or roles is far beyond
	// any policy this command manages.
	maxPages = 100
)

// Fetch reads the current schema (resources with actions, roles with
// permissions and extends) from Permit, paging through List calls
// (per_page 100). Both lists are bare JSON arrays with no total count
// in Permit's API, so a page shorter than per_page is the only end marker.
//
// The result is not validated: a shared environment may hold anything.
func Fetch(ctx context.Context, c *permit.Client) (Policy, error) {
	var p Policy
	resources, err := listAll(ctx, "resources", c.Api.Resources.List)
	if err != nil {
		return Policy{}, err
	}
	for _, r := range resources {
		p.Resources = append(p.Resources, resourceFrom(r))
	}
	roles, err := listAll(ctx, "roles", c.Api.Roles.List)
	if err != nil {
		return Policy{}, err
	}
	for _, r := range roles {
		p.Roles = append(p.Roles, roleFrom(r))
	}
	return p, nil
}

func listAll[T any](ctx context.Context, what string, list func(context.Context, int, int) ([]T, error)) ([]T, error) {
	var all []T
	for page := 1; page <= maxPages; page++ {
		items, err := list(ctx, page, pageSize)
		if err != nil {
			return nil, fmt.Errorf("list %s (page %d): %w", what, page, explain(err))
		}
		all = append(all, items...)
		if len(items) < pageSize {
			return all, nil
		}
	}
	return nil, fmt.Errorf("list %s: more than %d pages of %d; the API seems to ignore paging", what, maxPages, pageSize)
}

func resourceFrom(r models.ResourceRead) Resource {
	out := Resource{Key: r.Key, Name: r.Name, Description: r.GetDescription()}
	if r.Actions != nil {
		out.Actions = slices.Sorted(maps.Keys(*r.Actions))
	}
	return out
}

func roleFrom(r models.RoleRead) Role {
	return Role{
		Key:         r.Key,
		Name:        r.Name,
		Description: r.GetDescription(),
		Permissions: slices.Clone(r.Permissions),
		Extends:     slices.Clone(r.Extends),
	}
}

// Apply carries out the changes of Plan(current, desired, prune), where
// current is what Fetch reads, in Plan's order (resources before roles,
// parents before children, deletions last). It writes one line per change
// to out as the change is made, then a summary line ("no changes" when
// there is nothing to do), and returns the changes made — on error, those
// made before it. With dryRun it prints and returns the plan and writes
// nothing to Permit.
//
// Each update re-reads its entity first (one GET) and acts on that fresh
// state, so a change someone made since Fetch, or one an earlier step of
// this run caused (pruning an action drops it from every role), is not
// undone or repeated. A 409 on create means someone created the entity
// meanwhile (Permit answers 409 on a duplicate key); Apply
// then updates it instead and reports the change as an update.
//
// Without prune nothing is removed: resource updates send the union of
// the actions Permit holds and the desired ones, role updates only add
// permissions (AssignPermissions) and parents (AddParentRole).
func Apply(ctx context.Context, c *permit.Client, desired Policy, prune bool, dryRun bool, out io.Writer) ([]Change, error) {
	if err := desired.Validate(); err != nil {
		return nil, err
	}
	current, err := Fetch(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("read current policy: %w", err)
	}
	plan := Plan(current, desired, prune)
	if dryRun {
		for _, ch := range plan {
			fmt.Fprintln(out, ch)
		}
		if len(plan) == 0 {
			fmt.Fprintln(out, "no changes")
		} else {
			fmt.Fprintf(out, "dry run: %s planned, nothing written\n", count(len(plan)))
		}
		return plan, nil
	}

	a := applier{c: c, desired: desired, prune: prune}
	var done []Change
	for _, ch := range plan {
		made, err := a.apply(ctx, ch)
		if err != nil {
			if len(done) > 0 {
				fmt.Fprintf(out, "stopped after %s\n", count(len(done)))
			}
			return done, fmt.Errorf("%s %s: %w", ch.Kind, ch.Key, explain(err))
		}
		if made != nil {
			done = append(done, *made)
			fmt.Fprintln(out, *made)
		}
	}
	if len(done) == 0 {
		fmt.Fprintln(out, "no changes")
	} else {
		fmt.Fprintf(out, "%s applied\n", count(len(done)))
	}
	return done, nil
}

func count(n int) string {
	if n == 1 {
		return "1 change"
	}
	return fmt.Sprintf("%d changes", n)
}

// applier performs one planned change at a time.
type applier struct {
	c       *permit.Client
	desired Policy
	prune   bool
}

// apply performs ch and returns the change actually made, or nil when the
// fresh state showed there was nothing left to do.
func (a applier) apply(ctx context.Context, ch Change) (*Change, error) {
	switch ch.Kind {
	case CreateResource:
		want, _ := a.desired.Resource(ch.Key)
		create := models.NewResourceCreate(want.Key, want.Name, newActions(want.Actions))
		if want.Description != "" {
			create.SetDescription(want.Description)
		}
		_, err := a.c.Api.Resources.Create(ctx, *create)
		if isStatus(err, http.StatusConflict) {
			return a.updateResource(ctx, want, true)
		}
		return made(ch, err)
	case UpdateResource:
		want, _ := a.desired.Resource(ch.Key)
		return a.updateResource(ctx, want, false)
	case CreateRole:
		want, _ := a.desired.Role(ch.Key)
		create := models.NewRoleCreate(want.Key, want.Name)
		if want.Description != "" {
			create.SetDescription(want.Description)
		}
		create.Permissions = slices.Clone(want.Permissions)
		create.Extends = slices.Clone(want.Extends)
		_, err := a.c.Api.Roles.Create(ctx, *create)
		if isStatus(err, http.StatusConflict) {
			return a.updateRole(ctx, want, true)
		}
		return made(ch, err)
	case UpdateRole:
		want, _ := a.desired.Role(ch.Key)
		return a.updateRole(ctx, want, false)
	case DeleteRole:
		return deleted(ch, a.c.Api.Roles.Delete(ctx, ch.Key))
	case DeleteResource:
		return deleted(ch, a.c.Api.Resources.Delete(ctx, ch.Key))
	}
	return nil, fmt.Errorf("unknown change kind %q", ch.Kind)
}

// made is apply's answer for a write that returned err: ch on success.
func made(ch Change, err error) (*Change, error) {
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

// deleted is made for a delete, where a 404 means the entity is already
// gone and there is nothing to report.
func deleted(ch Change, err error) (*Change, error) {
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	return made(ch, err)
}

// updateResource brings one resource to want. The resource is re-read so
// the update carries its actions' current names, descriptions and
// attributes: an actions block replaces the resource's actions whole, and
// an action left out is deleted together with every role permission that
// names it (the stand-in does this, mirroring Permit). So without prune the
// block sent is the union of what Permit has and what want lists.
func (a applier) updateResource(ctx context.Context, want Resource, raced bool) (*Change, error) {
	read, err := a.c.Api.Resources.Get(ctx, want.Key)
	if err != nil {
		return nil, fmt.Errorf("re-read: %w", err)
	}
	have := resourceFrom(*read)
	ch, ok := single(Plan(Policy{Resources: []Resource{have}}, Policy{Resources: []Resource{want}}, a.prune), raced)
	if !ok {
		return nil, nil
	}

	update := models.NewResourceUpdate()
	if have.Name != want.Name {
		update.SetName(want.Name)
	}
	if have.Description != want.Description {
		update.SetDescription(want.Description)
	}
	actions := map[string]models.ActionBlockEditable{}
	if read.Actions != nil {
		for k, act := range *read.Actions {
			if a.prune && !slices.Contains(want.Actions, k) {
				continue
			}
			actions[k] = models.ActionBlockEditable{Name: act.Name, Description: act.Description, Attributes: act.Attributes}
		}
	}
	for _, k := range want.Actions {
		if _, ok := actions[k]; !ok {
			actions[k] = models.ActionBlockEditable{}
		}
	}
	if !sameSet(have.Actions, slices.Collect(maps.Keys(actions))) {
		update.SetActions(actions)
	}
	if _, err := a.c.Api.Resources.Update(ctx, want.Key, *update); err != nil {
		return nil, err
	}
	return &ch, nil
}

// updateRole brings one role to want with the narrowest calls: Update for
// name and description only (its permissions and extends fields replace
// the lists whole), AssignPermissions / AddParentRole for what is missing,
// and RemovePermissions / RemoveParentRole only with prune.
func (a applier) updateRole(ctx context.Context, want Role, raced bool) (*Change, error) {
	read, err := a.c.Api.Roles.Get(ctx, want.Key)
	if err != nil {
		return nil, fmt.Errorf("re-read: %w", err)
	}
	have := roleFrom(*read)
	ch, ok := single(Plan(Policy{Roles: []Role{have}}, Policy{Roles: []Role{want}}, a.prune), raced)
	if !ok {
		return nil, nil
	}

	if have.Name != want.Name || have.Description != want.Description {
		update := models.NewRoleUpdate()
		update.SetName(want.Name)
		update.SetDescription(want.Description)
		if _, err := a.c.Api.Roles.Update(ctx, want.Key, *update); err != nil {
			return nil, err
		}
	}
	if add := missing(want.Permissions, have.Permissions); len(add) > 0 {
		if err := a.c.Api.Roles.AssignPermissions(ctx, want.Key, add); err != nil {
			return nil, fmt.Errorf("assign permissions: %w", err)
		}
	}
	if a.prune {
		if remove := missing(have.Permissions, want.Permissions); len(remove) > 0 {
			if err := a.c.Api.Roles.RemovePermissions(ctx, want.Key, remove); err != nil {
				return nil, fmt.Errorf("remove permissions: %w", err)
			}
		}
	}
	for _, parent := range missing(want.Extends, have.Extends) {
		if err := a.c.Api.Roles.AddParentRole(ctx, want.Key, parent); err != nil {
			return nil, fmt.Errorf("add parent %s: %w", parent, err)
		}
	}
	if a.prune {
		for _, parent := range missing(have.Extends, want.Extends) {
			if err := a.c.Api.Roles.RemoveParentRole(ctx, want.Key, parent); err != nil {
				return nil, fmt.Errorf("remove parent %s: %w", parent, err)
			}
		}
	}
	return &ch, nil
}

// single returns the one update a single-entity Plan yields, marked when it
// follows a create that lost a race; ok is false when there is none.
func single(plan []Change, raced bool) (Change, bool) {
	if len(plan) == 0 {
		return Change{}, false
	}
	ch := plan[0]
	if raced {
		ch.Detail = "created concurrently (409 on create), updated instead; " + ch.Detail
	}
	return ch, true
}

func newActions(keys []string) map[string]models.ActionBlockEditable {
	actions := make(map[string]models.ActionBlockEditable, len(keys))
	for _, k := range keys {
		actions[k] = models.ActionBlockEditable{}
	}
	return actions
}

// missing returns the items of want that have lacks, in want's order.
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	return len(missing(a, b)) == 0 && len(missing(b, a)) == 0
}

// isStatus reports whether err is a Permit API error with the given HTTP
// status. The SDK returns PermitError as a value, not a pointer.
func isStatus(err error, status int) bool {
	var pe perrs.PermitError
	return errors.As(err, &pe) && pe.StatusCode == status
}

// explain adds a hint to the errors an operator can act on. The SDK's own
// messages are generic ("ErrorCode: ForbiddenAccess, ..."), and a failed
// scope call — wrong key, wrong URL or no network alike — surfaces only as
// a ContextError, often with an empty message.
func explain(err error) error {
	var pe perrs.PermitError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the API key was rejected (HTTP %d); check PERMIT_API_KEY: %w", pe.StatusCode, err)
	case pe.ErrorCode == perrs.ContextError:
		return fmt.Errorf("could not resolve the API key's project and environment "+
			"(GET /v2/api-key/scope failed: a wrong PERMIT_API_KEY or PERMIT_API_URL, or the API is unreachable; "+
			"set PERMIT_PROJECT and PERMIT_ENVIRONMENT to skip that call and see the underlying error): %w", err)
	}
	return err
}
