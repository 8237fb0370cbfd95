package handlers

import "net/http"

// webhookPath is where Logto delivers webhooks.
const webhookPath = "/webhooks/logto"

// catchAllPattern is the pattern that answers 404 for every unknown URL.
const catchAllPattern = "/"

// addRoutes is the whole public URL surface of reportgate. Metrics are not
// here: they are served only on the private metrics listener.
func addRoutes(mux *http.ServeMux, d Deps, pages *pageRenderer, signedIn *signedIn) {
	authn := &authHandler{auth: d.Auth, sessions: d.Sessions, pages: pages, onSignIn: d.SignInHook, logger: d.Logger}
	health := &healthHandler{db: d.DB, draining: d.Draining}
	hooks := &webhookHandler{keys: d.WebhookKeys, sink: d.Webhooks, logger: d.Logger,
		pages: pages, limit: d.WebhookLimit, count: d.Metrics.Webhook}
	guard := &guard{signedIn: signedIn, pages: pages, authz: d.Authz, setup: d.Setup, failed: d.Sync, requests: d.Requests}
	home := &homeHandler{guard: guard, pages: pages}
	reports := &reportsHandler{guard: guard, pages: pages, reports: d.Reports, audit: d.Audit}
	adminUsers := &adminUsersHandler{guard: guard, pages: pages, people: d.People, directory: d.Directory,
		states: d.SyncStates, sessions: d.PersonSessions, decisions: d.Decisions, roles: d.Roles, audit: d.Audit}
	adminSync := &adminSyncHandler{guard: guard, pages: pages, sync: d.Sync, people: d.People, deliveries: d.Metrics.WebhookCounts}
	// The sign-in routes are open to anyone and each starts or finishes a
	// sign-in, so they are limited per client.
	limited := func(h http.HandlerFunc) http.Handler { return rateLimited(h, d.SignInLimit, pages) }

	mux.Handle("GET /{$}", http.HandlerFunc(home.show))
	mux.Handle("GET /sign-in", limited(authn.signIn))
	mux.Handle("GET /sign-up", limited(authn.signUp))
	mux.Handle("GET /callback", limited(authn.callback))
	mux.Handle("POST /sign-out", http.HandlerFunc(authn.signOut))

	mux.Handle("GET /reports", http.HandlerFunc(reports.show))
	mux.Handle("GET /reports/export.csv", http.HandlerFunc(reports.export))

	mux.Handle("GET /admin/users", http.HandlerFunc(adminUsers.list))
	mux.Handle("POST /admin/users/{id}/role", http.HandlerFunc(adminUsers.setRole))
	mux.Handle("POST /admin/users/{id}/sign-out", http.HandlerFunc(adminUsers.signOut))
	mux.Handle("GET /admin/sync", http.HandlerFunc(adminSync.show))
	mux.Handle("POST /admin/sync/jobs/{id}/retry", http.HandlerFunc(adminSync.retry))

	if d.Requests != nil {
		own := &accessHandler{guard: guard, pages: pages, requests: d.Requests}
		admin := &adminRequestsHandler{guard: guard, pages: pages, requests: d.Requests, roles: d.Roles}
		mux.Handle("POST /access-requests", http.HandlerFunc(own.open))
		mux.Handle("POST /access-requests/{id}/withdraw", http.HandlerFunc(own.withdraw))
		mux.Handle("GET /admin/requests", http.HandlerFunc(admin.list))
		mux.Handle("POST /admin/requests/{id}/approve", http.HandlerFunc(admin.approve))
		mux.Handle("POST /admin/requests/{id}/deny", http.HandlerFunc(admin.deny))
	}
	if d.Audit != nil {
		trail := &auditHandler{guard: guard, pages: pages, trail: d.Audit}
		mux.Handle("GET /admin/audit", http.HandlerFunc(trail.show))
		mux.Handle("GET /admin/audit.csv", http.HandlerFunc(trail.export))
	}

	mux.Handle("POST "+webhookPath, http.HandlerFunc(hooks.receive))
	mux.Handle(webhookPath, http.HandlerFunc(hooks.methodNotAllowed))

	mux.Handle("GET /healthz", http.HandlerFunc(health.live))
	mux.Handle("GET /readyz", http.HandlerFunc(health.ready))
	mux.Handle("GET /static/", d.Assets)
	mux.Handle("GET /favicon.ico", http.RedirectHandler(d.Assets.URL("logo.svg"), http.StatusFound))

	mux.Handle(catchAllPattern, http.HandlerFunc(pages.notFound))
}
