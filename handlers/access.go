package handlers

import (
	"context"
	"net/http"
	"strconv"

	"reportgate/internal/access"
	"reportgate/internal/auth"
	"reportgate/internal/perm"
	"reportgate/views"
)

// AccessRequests opens, lists and decides access requests (access.Service).
type AccessRequests interface {
	Requestable(permission string) bool
	Suggest(permission string) string
	Grants(role, permission string) bool
	Open(ctx context.Context, who access.Person, permission, reason string) (access.Request, bool, error)
	Withdraw(ctx context.Context, who access.Person, id int64) error
	Latest(ctx context.Context, userID, permission string) (access.Request, bool, error)
	StillDeclined(r access.Request) bool
	List(ctx context.Context, decided bool, limit int) ([]access.Request, error)
	CountOpen(ctx context.Context) (int, error)
	Approve(ctx context.Context, admin access.Person, id int64, role string) (access.Request, error)
	Deny(ctx context.Context, admin access.Person, id int64, note string) (access.Request, error)
}

// requestsPageSize bounds /admin/requests.
const requestsPageSize = 200

// dateFormat is how dates are shown on the request pages.
const dateFormat = "Jan 2, 2006 15:04 UTC"

func accessPerson(who *auth.Identity) access.Person {
	return access.Person{ID: who.Subject, Name: who.Name, Email: who.Email}
}

// requestView is the request part of the denied view for permission p, nil
// when it cannot be requested. A failure to read it only loses the form.
func (g *guard) requestView(r *http.Request, who *auth.Identity, p perm.Name) *views.AccessRequestView {
	if g.requests == nil || !g.requests.Requestable(string(p)) {
		return nil
	}
	v := &views.AccessRequestView{State: views.RequestAsk, Permission: string(p), Return: r.URL.Path}
	if r.Method == http.MethodGet {
		v.Return = r.URL.RequestURI()
	}
	last, ok, err := g.requests.Latest(r.Context(), who.Subject, v.Permission)
	if err != nil {
		g.pages.logger.WarnContext(r.Context(), "read access request", "user", who.Subject, "err", err)
		return nil
	}
	switch {
	case !ok:
	case last.State == access.StateOpen:
		v.State, v.ID, v.AskedOn = views.RequestPending, last.ID, last.CreatedAt.Format(dateFormat)
	case g.requests.StillDeclined(last):
		v.State, v.ID, v.Note, v.AskAgainOn = views.RequestDeclined, last.ID, last.Note, access.AskAgainAt(last).Format(dateFormat)
	}
	return v
}

// accessHandler serves a signed-in person's own requests.
type accessHandler struct {
	guard    *guard
	pages    *pageRenderer
	requests AccessRequests
}

// open asks for a permission; asking again shows the open request.
func (h *accessHandler) open(w http.ResponseWriter, r *http.Request, who *auth.Identity) {
	req, created, err := h.requests.Open(r.Context(), accessPerson(who), r.PostFormValue("permission"), r.PostFormValue("reason"))
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	notice := "You already asked for this on " + req.CreatedAt.Format(dateFormat) + "; an admin will decide."
	if created {
		h.pages.logger.InfoContext(r.Context(), "access requested", "user", who.Subject, "permission", req.Permission, "request", req.ID)
		notice = "Your request was sent to the admins."
	}
	h.guard.notify(w, r, who, localPath(r.PostFormValue("return_to")), notice)
}

func (h *accessHandler) withdraw(w http.ResponseWriter, r *http.Request, who *auth.Identity) {
	id, err := requestID(r)
	if err == nil {
		err = h.requests.Withdraw(r.Context(), accessPerson(who), id)
	}
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.guard.notify(w, r, who, localPath(r.PostFormValue("return_to")), "Your request was withdrawn.")
}

func requestID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, access.ErrNotFound
	}
	return id, nil
}

// adminRequestsHandler is /admin/requests, for people allowed users:manage.
type adminRequestsHandler struct {
	guard    *guard
	pages    *pageRenderer
	requests AccessRequests
	roles    []string
}

func (h *adminRequestsHandler) list(w http.ResponseWriter, r *http.Request, in admitted) {
	who, decisions := in.who, in.decisions
	decided := r.FormValue("filter") == "decided"
	reqs, err := h.requests.List(r.Context(), decided, requestsPageSize)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.RequestsView{Decided: decided}
	for _, q := range reqs {
		row := views.RequestRow{ID: q.ID, Person: views.Person{ID: q.UserID, Name: q.UserName}, Email: q.UserEmail,
			Permission: q.Permission, Reason: q.Reason, AskedOn: q.CreatedAt.Format(dateFormat),
			Suggested: h.requests.Suggest(q.Permission), State: q.State}
		for _, role := range h.roles {
			if h.requests.Grants(role, q.Permission) {
				row.Roles = append(row.Roles, role)
			}
		}
		switch q.State {
		case access.StateDeclined:
			row.Decision = "by " + q.DecidedByName + ": " + q.Note
		case access.StateOpen:
		default:
			row.Decision = q.Role + ", by " + q.DecidedByName
		}
		v.Rows = append(v.Rows, row)
	}
	h.pages.render(w, r, http.StatusOK, views.AdminRequestsPage(h.guard.page(w, r, "Access requests", who, decisions), v))
}

func (h *adminRequestsHandler) approve(w http.ResponseWriter, r *http.Request, in admitted) {
	h.decide(w, r, in, func(ctx context.Context, admin access.Person, id int64) (string, error) {
		q, err := h.requests.Approve(ctx, admin, id, r.PostFormValue("role"))
		return "Approved: " + q.UserEmail + " gets the " + q.Role + " role in a moment.", err
	})
}

func (h *adminRequestsHandler) deny(w http.ResponseWriter, r *http.Request, in admitted) {
	h.decide(w, r, in, func(ctx context.Context, admin access.Person, id int64) (string, error) {
		q, err := h.requests.Deny(ctx, admin, id, r.PostFormValue("note"))
		return "Declined the request of " + q.UserEmail + ".", err
	})
}

func (h *adminRequestsHandler) decide(w http.ResponseWriter, r *http.Request, in admitted, fn func(context.Context, access.Person, int64) (string, error)) {
	who := in.who
	id, err := requestID(r)
	var notice string
	if err == nil {
		notice, err = fn(r.Context(), accessPerson(who), id)
	}
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.logger.InfoContext(r.Context(), "access request decided", "by", who.Subject, "request", id, "path", r.URL.Path)
	h.guard.notify(w, r, who, "/admin/requests", notice)
}
