package handlers

import "net/http"

// webhookPath is where Logto delivers webhooks.
const webhookPath = "/webhooks/logto"

// addRoutes is the whole URL surface of reportgate.
func addRoutes(mux *http.ServeMux, d Deps, pages *pageRenderer, signedIn *signedIn) {
	home := &homeHandler{signedIn: signedIn, pages: pages}
	authn := &authHandler{auth: d.Auth, sessions: d.Sessions, pages: pages, onSignIn: d.SignInHook, logger: d.Logger}
	health := &healthHandler{db: d.DB, draining: d.Draining}
	hooks := &webhookHandler{keys: d.WebhookKeys, sink: d.Webhooks, logger: d.Logger}
	guard := &guard{signedIn: signedIn, pages: pages, authz: d.Authz, setup: d.Setup}
	reports := &reportsHandler{guard: guard, pages: pages, reports: d.Reports}
	adminUsers := &adminUsersHandler{guard: guard, pages: pages, people: d.People, directory: d.Directory,
		states: d.SyncStates, decisions: d.Decisions, roles: d.Roles}
	adminSync := &adminSyncHandler{guard: guard, pages: pages, sync: d.Sync}

	mux.Handle("GET /{$}", http.HandlerFunc(home.show))
	mux.Handle("GET /sign-in", http.HandlerFunc(authn.signIn))
	mux.Handle("GET /sign-up", http.HandlerFunc(authn.signUp))
	mux.Handle("GET /callback", http.HandlerFunc(authn.callback))
	mux.Handle("POST /sign-out", http.HandlerFunc(authn.signOut))

	mux.Handle("GET /reports", http.HandlerFunc(reports.show))
	mux.Handle("GET /reports/export.csv", http.HandlerFunc(reports.export))

	mux.Handle("GET /admin/users", http.HandlerFunc(adminUsers.list))
	mux.Handle("POST /admin/users/{id}/role", http.HandlerFunc(adminUsers.setRole))
	mux.Handle("GET /admin/sync", http.HandlerFunc(adminSync.show))
	mux.Handle("POST /admin/sync/jobs/{id}/retry", http.HandlerFunc(adminSync.retry))

	mux.Handle("POST "+webhookPath, http.HandlerFunc(hooks.receive))
	mux.Handle(webhookPath, http.HandlerFunc(hooks.methodNotAllowed))

	mux.Handle("GET /healthz", http.HandlerFunc(health.live))
	mux.Handle("GET /readyz", http.HandlerFunc(health.ready))
	mux.Handle("GET /metrics", http.HandlerFunc((&metricsHandler{authzStats: d.AuthzStats}).serve))
	mux.Handle("GET /static/", d.Assets)

	mux.Handle("/", http.HandlerFunc(pages.notFound))
}
