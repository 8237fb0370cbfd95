package handlers

import (
	"context"
	"net/http"

	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/perm"
	"reportgate/views"
)

// FailedJobs counts the sync jobs that gave up, for the admin badge.
type FailedJobs interface {
	FailedJobs(ctx context.Context) (int, error)
}

// navRequests are the decisions the nav needs on every page for a
// signed-in person. They go in the same AllowedAll call as the page's own,
// so the nav costs no extra round trip to the PDP.
var navRequests = []perm.Name{perm.UsersManage, perm.SyncManage, perm.AuditView}

// adminNav is the nav's admin entry for the decisions (nil: no admin page
// is open to the person, or nothing was decided).
func (g *guard) adminNav(ctx context.Context, d decisions) *views.AdminNav {
	nav := &views.AdminNav{Users: d.allow(perm.UsersManage), Sync: d.allow(perm.SyncManage), Audit: d.allow(perm.AuditView)}
	if !nav.Users && !nav.Sync && !nav.Audit {
		return nil
	}
	if nav.Users && g.requests != nil {
		n, err := g.requests.CountOpen(ctx)
		if err != nil {
			g.pages.logger.WarnContext(ctx, "count open access requests", "err", err)
		}
		nav.OpenRequests = n
	}
	if nav.Sync && g.failed != nil {
		n, err := g.failed.FailedJobs(ctx)
		if err != nil {
			// The badge is a hint; the page itself must still show.
			g.pages.logger.WarnContext(ctx, "count failed sync jobs", "err", err)
		}
		nav.FailedJobs = n
	}
	return nav
}

// page is the layout data for a signed-in person's page: the nav from the
// decisions the page already has, and the notices left for them (taken
// now, so they show once). Call it before writing the response.
func (g *guard) page(w http.ResponseWriter, r *http.Request, title string, who *auth.Identity, d decisions) views.Page {
	p := g.pages.page(r, title, who)
	p.Admin = g.adminNav(r.Context(), d)
	p.Flash = g.signedIn.takeNotices(w, r)
	return p
}

// notify leaves notice for the person's next page and sends them to
// target: notices live in the session, never in the address, so nobody
// can put words in the app's mouth with a link.
func (g *guard) notify(w http.ResponseWriter, r *http.Request, who *auth.Identity, target, notice string) {
	if err := g.signedIn.addNotice(w, r, notice); err != nil {
		g.pages.fail(w, r, who, err)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// decide asks the PDP, in one call, for reqs and the nav's decisions.
func (g *guard) decide(ctx context.Context, who *auth.Identity, reqs ...authz.Request) (decisions, error) {
	for _, n := range navRequests {
		reqs = append(reqs, n.Request())
	}
	return g.authz.AllowedAll(ctx, authz.User{Key: who.Subject, Email: who.Email, Name: who.Name}, reqs...)
}
