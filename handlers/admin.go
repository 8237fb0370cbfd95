package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"reportgate/internal/authz"
	"reportgate/internal/store"
	"reportgate/views"
)

// People lists the locally known people and records role snapshots.
type People interface {
	List(ctx context.Context, limit, offset int) ([]store.User, error)
	Get(ctx context.Context, id string) (store.User, error)
	SetRoles(ctx context.Context, id string, roles []string) error
}

// RoleDirectory reads and changes role assignments in Permit.
type RoleDirectory interface {
	AssignedRoles(ctx context.Context, key string) ([]string, error)
	AssignRole(ctx context.Context, key, role string) error
	UnassignRole(ctx context.Context, key, role string) error
}

// SyncStates tells a person's sync state ("synced", "queued", …).
type SyncStates interface {
	SyncState(ctx context.Context, userID string) (string, error)
}

// DecisionCache forgets cached decisions of a person whose role changed.
type DecisionCache interface {
	Forget(userKey string)
}

var (
	canManageUsers = permission{need: authz.Request{Resource: "users", Action: "manage"}, asked: "manage people", role: "admin"}
	canManageSync  = permission{need: authz.Request{Resource: "sync", Action: "manage"}, asked: "manage user sync", role: "admin"}
)

// adminPageSize bounds the people listed at once.
const adminPageSize = 200

type adminUsersHandler struct {
	guard     *guard
	pages     *pageRenderer
	people    People
	directory RoleDirectory
	states    SyncStates
	decisions DecisionCache
	roles     []string
}

func (h *adminUsersHandler) list(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.guard.admit(w, r, canManageUsers)
	if !ok {
		return
	}
	people, err := h.people.List(r.Context(), adminPageSize, 0)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.UsersView{Roles: h.roles, Notice: r.URL.Query().Get("notice")}
	for _, p := range people {
		state := "unknown"
		if h.states != nil {
			if s, err := h.states.SyncState(r.Context(), p.ID); err == nil {
				state = s
			}
		}
		v.Users = append(v.Users, views.UserRow{ID: p.ID, Name: p.Name, Email: p.Email, SyncState: state, Role: store.Bucket(p.Roles)})
	}
	h.pages.render(w, r, http.StatusOK, views.AdminUsersPage(h.pages.page(r, "People", who), v))
}

// setRole makes role the person's only role in Permit ("" removes all),
// then refreshes the local snapshot and the decision cache.
func (h *adminUsersHandler) setRole(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.guard.admit(w, r, canManageUsers)
	if !ok {
		return
	}
	id := r.PathValue("id")
	role := r.PostFormValue("role")
	if role != "" && !slices.Contains(h.roles, role) {
		h.pages.fail(w, r, who, badInput("Unknown role "+role+"."))
		return
	}
	person, err := h.people.Get(r.Context(), id)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	current, err := h.directory.AssignedRoles(r.Context(), id)
	if err != nil {
		h.pages.fail(w, r, who, unavailable(err))
		return
	}
	for _, old := range current {
		if old != role {
			if err := h.directory.UnassignRole(r.Context(), id, old); err != nil {
				h.pages.fail(w, r, who, unavailable(err))
				return
			}
		}
	}
	if role != "" && !slices.Contains(current, role) {
		if err := h.directory.AssignRole(r.Context(), id, role); err != nil {
			h.pages.fail(w, r, who, unavailable(err))
			return
		}
	}
	var roles []string
	if role != "" {
		roles = []string{role}
	}
	if err := h.people.SetRoles(r.Context(), id, roles); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.decisions.Forget(id)
	h.pages.logger.InfoContext(r.Context(), "role changed", "by", who.Subject, "user", id, "role", role)
	notice := person.Email + " now has no role."
	if role != "" {
		notice = person.Email + " now has the " + role + " role."
	}
	http.Redirect(w, r, "/admin/users?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}
