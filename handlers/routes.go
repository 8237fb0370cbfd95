package handlers

import "net/http"

// webhookPath is where Logto delivers webhooks.
const webhookPath = "/webhooks/logto"

// addRoutes is the whole URL surface of reportgate.
func addRoutes(mux *http.ServeMux, d Deps, pages *pageRenderer, signedIn *signedIn) {
	home := &homeHandler{signedIn: signedIn, pages: pages}
	authn := &authHandler{auth: d.Auth, sessions: d.Sessions, pages: pages, onSignIn: d.SignInHook, logger: d.Logger}
	health := &healthHandler{db: d.DB}
	hooks := &webhookHandler{keys: d.WebhookKeys, sink: d.Webhooks, logger: d.Logger}
	reports := &reportsHandler{signedIn: signedIn, pages: pages, authz: d.Authz, reports: d.Reports, setup: d.Setup}

	mux.Handle("GET /{$}", http.HandlerFunc(home.show))
	mux.Handle("GET /sign-in", http.HandlerFunc(authn.signIn))
	mux.Handle("GET /sign-up", http.HandlerFunc(authn.signUp))
	mux.Handle("GET /callback", http.HandlerFunc(authn.callback))
	mux.Handle("POST /sign-out", http.HandlerFunc(authn.signOut))

	mux.Handle("GET /reports", http.HandlerFunc(reports.show))
	mux.Handle("GET /reports/export.csv", http.HandlerFunc(reports.export))

	mux.Handle("POST "+webhookPath, http.HandlerFunc(hooks.receive))
	mux.Handle(webhookPath, http.HandlerFunc(hooks.methodNotAllowed))

	mux.Handle("GET /healthz", http.HandlerFunc(health.live))
	mux.Handle("GET /readyz", http.HandlerFunc(health.ready))
	mux.Handle("GET /static/", d.Assets)

	mux.Handle("/", http.HandlerFunc(pages.notFound))
}
