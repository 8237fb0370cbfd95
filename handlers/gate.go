package handlers

import (
	"net/http"

	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/perm"
)

// decisions are Permit's answers for one request, by question.
type decisions map[authz.Request]bool

// allow says whether Permit allowed p (false when it was not asked).
func (d decisions) allow(p perm.Name) bool { return d[p.Request()] }

// admitted is who a gated route let in, and the decisions it has for them
// (the route's permission, its extra ones and the nav's).
type admitted struct {
	who       *auth.Identity
	decisions decisions
}

// gated is a handler behind a permission: it runs only for a person
// Permit allowed.
type gated func(w http.ResponseWriter, r *http.Request, in admitted)

// wording is how the access-denied view names a permission and the role
// that grants it.
type wording struct {
	asked string // e.g. "view reports"
	role  string
	// setupAware: a person whose first grant is still on its way sees
	// "access being set up" instead of "denied". Only reports:view is
	// granted to new people.
	setupAware bool
}

func wordingOf(p perm.Name) wording {
	switch p {
	case perm.ReportsView:
		return wording{asked: "view reports", role: "viewer", setupAware: true}
	case perm.ReportsExport:
		return wording{asked: "export reports", role: "analyst"}
	case perm.UsersManage:
		return wording{asked: "manage people", role: adminRole}
	case perm.SyncManage:
		return wording{asked: "manage user sync", role: adminRole}
	case perm.AuditView:
		return wording{asked: "view the audit trail", role: adminRole}
	}
	return wording{asked: string(p), role: adminRole}
}

// require serves h only to a signed-in person Permit allows p. It asks
// for p, the page's extra decisions (also) and the nav's in one call, and
// answers everyone else itself: anonymous people go to sign in, the rest
// get the denied, unavailable or being-set-up page.
func (g *guard) require(p perm.Name, h gated, also ...perm.Name) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in, ok := g.admit(w, r, p, also...); ok {
			h(w, r, in)
		}
	})
}

// signedInOnly serves h to any signed-in person, with no permission asked;
// anonymous people go to sign in.
func (g *guard) signedInOnly(h func(w http.ResponseWriter, r *http.Request, who *auth.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := g.signedIn.resolve(w, r)
		if err != nil {
			g.pages.fail(w, r, nil, err)
			return
		}
		if who == nil {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		h(w, r, who)
	})
}

// anyone marks a route open to anyone: it asks for no person and no
// permission (a handler may still show more to a signed-in person, or
// authenticate the request its own way, as webhooks do by signature).
func anyone(h http.Handler) http.Handler { return h }
