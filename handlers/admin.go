package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/people"
	"reportgate/views"
)

// PermitRoles reads and changes role assignments in Permit.
type PermitRoles interface {
	AssignedRoles(ctx context.Context, key string) ([]string, error)
	AssignRole(ctx context.Context, key, role string) error
	UnassignRole(ctx context.Context, key, role string) error
}

// adminRole is the role the last-admin guard keeps at least one person in.
const adminRole = "admin"

// adminPageSize is how many people /admin/users shows at once.
const adminPageSize = 50

// maxSearch bounds the search term, in characters.
const maxSearch = 200

// errLastAdmin refuses a change that would leave nobody with adminRole.
var errLastAdmin = errors.New("the last admin keeps the admin role")

type adminUsersHandler struct {
	guard  *guard
	pages  *pageRenderer
	people People
	permit PermitRoles
	roles  []string
	audit  AuditLog // nil: changes are not recorded
}

// listing is where on /admin/users a request is: the search and the page.
type listing struct {
	search string
	page   int
}

func listingOf(r *http.Request) listing {
	// PostgreSQL refuses text that is not UTF-8 or holds NUL, so such a
	// search would be an error page instead of no match.
	search := strings.ReplaceAll(strings.ToValidUTF8(r.FormValue("q"), ""), "\x00", "")
	if runes := []rune(strings.TrimSpace(search)); len(runes) > maxSearch {
		search = string(runes[:maxSearch])
	}
	return listing{search: strings.TrimSpace(search), page: pageNumber(r)}
}

// maxPage bounds the page asked for, so its row offset cannot overflow
// (PostgreSQL refuses a negative OFFSET); a page past the last is empty.
const maxPage = 1 << 20

// pageNumber is the listing page the request asks for: 1 unless its
// "page" is a number above 1.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.FormValue("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}

func (l listing) url() string { return views.UsersURL(l.search, l.page) }

func (h *adminUsersHandler) list(w http.ResponseWriter, r *http.Request, in admitted) {
	who, decisions := in.who, in.decisions
	l := listingOf(r)
	found, total, err := h.people.Find(r.Context(), l.search, adminPageSize, (l.page-1)*adminPageSize)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	ids := make([]string, len(found))
	for i, p := range found {
		ids[i] = p.ID
	}
	states, err := h.people.SyncStates(r.Context(), ids)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	sessions, err := h.people.CountSessions(r.Context(), ids)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.UsersView{Roles: h.roles, Search: l.search, Page: l.page, Total: total}
	for _, p := range found {
		v.Users = append(v.Users, views.UserRow{ID: p.ID, Name: p.Name, Email: p.Email, SyncState: states[p.ID],
			Role: people.Bucket(p.Roles), Sessions: sessions[p.ID]})
	}
	if len(found) > 0 {
		v.From = (l.page-1)*adminPageSize + 1
		v.To = v.From + len(found) - 1
	}
	if l.page > 1 {
		// From past the end (a stale link), "Previous" leads to the last page.
		v.PrevURL = views.UsersURL(l.search, min(l.page-1, max(1, (total+adminPageSize-1)/adminPageSize)))
	}
	if l.page*adminPageSize < total {
		v.NextURL = views.UsersURL(l.search, l.page+1)
	}
	h.pages.render(w, r, http.StatusOK, views.AdminUsersPage(h.guard.page(w, r, "People", who, decisions), v))
}

// setRole makes role the person's only role in Permit ("" removes all). It
// assigns the new role before removing the others, so a failure part-way
// leaves the person with more access, never none; and it refuses to take
// the admin role from the last person holding it. An admin removing their
// own admin role is asked to confirm first.
func (h *adminUsersHandler) setRole(w http.ResponseWriter, r *http.Request, in admitted) {
	who, decisions := in.who, in.decisions
	id, role, back := r.PathValue("id"), r.PostFormValue("role"), listingOf(r)
	if role != "" && !slices.Contains(h.roles, role) {
		h.pages.fail(w, r, who, badInput("Unknown role "+role+"."))
		return
	}
	person, err := h.people.Get(r.Context(), id)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	self := id == who.Subject
	if self && role != adminRole && r.PostFormValue("confirm") != "1" {
		v := views.ConfirmView{UserID: id, Role: role, Search: back.search, Page: back.page}
		h.pages.render(w, r, http.StatusOK, views.ConfirmOwnRole(h.guard.page(w, r, "Remove your admin role?", who, decisions), v))
		return
	}
	before, after, err := h.changeRole(r.Context(), who, id, role)
	h.people.Forget(id)
	h.recordRoleChange(r.Context(), who, person, role, before, after, err)
	switch {
	case errors.Is(err, errLastAdmin):
		h.guard.notify(w, r, who, back.url(), lastAdminNotice(person, self))
		return
	case err != nil:
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.logger.InfoContext(r.Context(), "role changed", "by", who.Subject, "user", id, "role", role)
	notice := person.Label() + " now has no role."
	if role != "" {
		notice = person.Label() + " now has the " + role + " role."
	}
	target := back.url()
	if self && role != adminRole {
		// The admin pages are closed to them from now on.
		target = "/"
	}
	h.guard.notify(w, r, who, target, notice)
}

// changeRole makes the change under the role lock, so that the last-admin
// check and the change happen with no other role change in between, on any
// replica. The Permit calls run inside it, which on SQLite holds the one
// connection for their duration: role changes are rare and each Permit
// call has its deadline. The snapshots of the people involved are
// refreshed from Permit inside the lock, so the count is not fooled by a
// stale one.
//
// It returns the roles the person held in Permit before and after, for the
// audit trail (both nil when nothing was read).
func (h *adminUsersHandler) changeRole(ctx context.Context, who *auth.Identity, id, role string) (before, after []string, _ error) {
	var permitErr error
	err := h.people.WithRoleLock(ctx, func(tx *people.RoleTx) error {
		current, err := h.permit.AssignedRoles(ctx, id)
		if err != nil {
			return unavailable(err)
		}
		if who.Subject != id {
			mine, err := h.permit.AssignedRoles(ctx, who.Subject)
			if err != nil {
				return unavailable(err)
			}
			if err := tx.SetRoles(ctx, who.Subject, mine); err != nil && !errors.Is(err, people.ErrNotFound) {
				return err
			}
		}
		if slices.Contains(current, adminRole) && role != adminRole {
			others, err := tx.Holders(ctx, adminRole, id)
			if err != nil {
				return err
			}
			if others == 0 {
				return errLastAdmin
			}
		}
		held, err := h.apply(ctx, id, current, role)
		before, after = current, held
		if err != nil && slices.Equal(held, current) {
			return err // nothing changed
		}
		permitErr = err
		// Whatever Permit now holds, including after a failure part-way.
		return tx.SetRoles(ctx, id, held)
	})
	return before, after, errors.Join(err, permitErr)
}

// recordRoleChange writes what a role change did in Permit, after the
// calls: each role granted or removed, and a refusal or failure.
func (h *adminUsersHandler) recordRoleChange(ctx context.Context, who *auth.Identity, person people.Person, role string, before, after []string, err error) {
	entry := func(action, role, detail string) {
		record(ctx, h.pages, h.audit, audit.Entry{ActorID: who.Subject, ActorName: actorName(who), Action: action,
			SubjectID: person.ID, SubjectName: person.Label(), Role: role, Detail: detail})
	}
	for _, r := range after {
		if !slices.Contains(before, r) {
			entry(audit.RoleGranted, r, "by an admin on People")
		}
	}
	for _, r := range before {
		if !slices.Contains(after, r) {
			entry(audit.RoleRemoved, r, "by an admin on People")
		}
	}
	switch {
	case errors.Is(err, errLastAdmin):
		entry(audit.RoleChangeFailed, role, "refused: the last admin keeps the admin role")
	case errors.Is(err, errUpstream):
		entry(audit.RoleChangeFailed, role, "Permit.io did not accept the change")
	case err != nil:
		entry(audit.RoleChangeFailed, role, "the change failed")
	}
}

// apply assigns role, then removes the other roles of current; it returns
// the roles the person holds afterwards, also when it failed part-way.
func (h *adminUsersHandler) apply(ctx context.Context, id string, current []string, role string) ([]string, error) {
	held := slices.Clone(current)
	if role != "" && !slices.Contains(held, role) {
		if err := h.permit.AssignRole(ctx, id, role); err != nil {
			return held, unavailable(err)
		}
		held = append(held, role)
	}
	for _, old := range current {
		if old == role {
			continue
		}
		if err := h.permit.UnassignRole(ctx, id, old); err != nil {
			return held, unavailable(err)
		}
		held = slices.DeleteFunc(held, func(r string) bool { return r == old })
	}
	return held, nil
}

// signOut ends every session of the person, on every device.
func (h *adminUsersHandler) signOut(w http.ResponseWriter, r *http.Request, in admitted) {
	who := in.who
	person, err := h.people.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	n, err := h.people.EndSessions(r.Context(), person.ID)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.logger.InfoContext(r.Context(), "signed out everywhere", "by", who.Subject, "user", person.ID, "sessions", n)
	h.guard.notify(w, r, who, listingOf(r).url(), fmt.Sprintf("%s is signed out everywhere (%s ended).", person.Label(), views.Plural(n, "session")))
}

func lastAdminNotice(person people.Person, self bool) string {
	if self {
		return "You are the only admin, so you keep the admin role. Make someone else an admin first."
	}
	return person.Label() + " is the only admin, so they keep the admin role. Make someone else an admin first."
}
