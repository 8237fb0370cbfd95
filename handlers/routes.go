package handlers

import (
	"net/http"

	"reportgate/internal/perm"
)

// webhookPath is where Logto delivers webhooks.
const webhookPath = "/webhooks/logto"

// catchAllPattern is the pattern that answers 404 for every unknown URL.
const catchAllPattern = "/"

// router is where addRoutes registers its routes (an *http.ServeMux).
type router interface {
	Handle(pattern string, h http.Handler)
}

// addRoutes is the whole public URL surface of reportgate, and its access
// map. Metrics are not here: they are served only on the private metrics
// listener.
func addRoutes(mux router, d Deps, pages *pageRenderer, signedIn *signedIn) {
	authn := &authHandler{auth: d.Auth, sessions: d.Sessions, pages: pages, people: d.People, logger: d.Logger}
	health := &healthHandler{db: d.DB, draining: d.Draining}
	hooks := &webhookHandler{keys: d.WebhookKeys, sink: d.People, logger: d.Logger,
		pages: pages, limit: d.WebhookLimit, count: d.Metrics.Webhook}
	guard := &guard{signedIn: signedIn, pages: pages, authz: d.Authz, people: d.People, failed: d.Sync, requests: d.Requests}
	home := &homeHandler{guard: guard, pages: pages}
	reports := &reportsHandler{guard: guard, pages: pages, reports: d.Reports, audit: d.Audit}
	adminUsers := &adminUsersHandler{guard: guard, pages: pages, people: d.People, permit: d.PermitRoles,
		roles: d.Roles, audit: d.Audit}
	adminSync := &adminSyncHandler{guard: guard, pages: pages, sync: d.Sync, people: d.People, deliveries: d.Metrics.WebhookCounts}
	// The sign-in routes are open to anyone and each starts or finishes a
	// sign-in, so they are limited per client.
	limited := func(h http.HandlerFunc) http.Handler { return rateLimited(h, d.SignInLimit, pages) }

	// Every route names who may use it: anyone, any signed-in person, or a
	// person Permit allows a permission (in the policy's words).
	mux.Handle("GET /{$}", anyone(http.HandlerFunc(home.show)))
	mux.Handle("GET /sign-in", anyone(limited(authn.signIn)))
	mux.Handle("GET /sign-up", anyone(limited(authn.signUp)))
	mux.Handle("GET /callback", anyone(limited(authn.callback)))
	mux.Handle("POST /sign-out", anyone(http.HandlerFunc(authn.signOut)))

	// The report page also asks for export, to show the link.
	mux.Handle("GET /reports", guard.require(perm.ReportsView, reports.show, perm.ReportsExport))
	mux.Handle("GET /reports/export.csv", guard.require(perm.ReportsExport, reports.export))

	mux.Handle("GET /admin/users", guard.require(perm.UsersManage, adminUsers.list))
	mux.Handle("POST /admin/users/{id}/role", guard.require(perm.UsersManage, adminUsers.setRole))
	mux.Handle("POST /admin/users/{id}/sign-out", guard.require(perm.UsersManage, adminUsers.signOut))
	mux.Handle("GET /admin/sync", guard.require(perm.SyncManage, adminSync.show))
	mux.Handle("POST /admin/sync/jobs/{id}/retry", guard.require(perm.SyncManage, adminSync.retry))

	if d.Requests != nil {
		own := &accessHandler{guard: guard, pages: pages, requests: d.Requests}
		admin := &adminRequestsHandler{guard: guard, pages: pages, requests: d.Requests, roles: d.Roles}
		// Asking is for people who lack a permission, so it needs none.
		mux.Handle("POST /access-requests", guard.signedInOnly(own.open))
		mux.Handle("POST /access-requests/{id}/withdraw", guard.signedInOnly(own.withdraw))
		mux.Handle("GET /admin/requests", guard.require(perm.UsersManage, admin.list))
		mux.Handle("POST /admin/requests/{id}/approve", guard.require(perm.UsersManage, admin.approve))
		mux.Handle("POST /admin/requests/{id}/deny", guard.require(perm.UsersManage, admin.deny))
	}
	if d.Audit != nil {
		trail := &auditHandler{guard: guard, pages: pages, trail: d.Audit}
		mux.Handle("GET /admin/audit", guard.require(perm.AuditView, trail.show))
		mux.Handle("GET /admin/audit.csv", guard.require(perm.AuditView, trail.export))
	}

	// Webhooks are authenticated by their signature, in the handler.
	mux.Handle("POST "+webhookPath, anyone(http.HandlerFunc(hooks.receive)))
	mux.Handle(webhookPath, anyone(http.HandlerFunc(hooks.methodNotAllowed)))

	mux.Handle("GET /healthz", anyone(http.HandlerFunc(health.live)))
	mux.Handle("GET /readyz", anyone(http.HandlerFunc(health.ready)))
	mux.Handle("GET /static/", anyone(d.Assets))
	mux.Handle("GET /favicon.ico", anyone(http.RedirectHandler(d.Assets.URL("logo.svg"), http.StatusFound)))

	mux.Handle(catchAllPattern, anyone(http.HandlerFunc(pages.notFound)))
}
