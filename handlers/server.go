// Package handlers is reportgate's HTTP layer: routes, middleware, and one
// handler type per feature. Handlers translate requests into calls on the
// internal services they are given and render views; they hold no business
// logic.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gorilla/sessions"
	"github.com/logto-io/go/v2/client"

	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/static"
)

// Authenticator signs people in and out through Logto.
type Authenticator interface {
	SignInURL(ctx context.Context, storage client.Storage, opts auth.SignInOptions) (string, error)
	HandleCallback(ctx context.Context, storage client.Storage, requestURI string) (auth.Identity, error)
	CurrentUser(ctx context.Context, storage client.Storage) (auth.Identity, error)
	SignOut(ctx context.Context, storage client.Storage) (string, error)
}

// SessionStore is a gorilla sessions.Store that can also rotate and end
// sessions.
type SessionStore interface {
	sessions.Store
	Renew(r *http.Request, w http.ResponseWriter, s *sessions.Session) error
	Destroy(r *http.Request, w http.ResponseWriter, s *sessions.Session) error
}

// Pinger reports whether the app database answers (readiness).
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Deps are everything the HTTP layer needs.
type Deps struct {
	Logger   *slog.Logger
	BaseURL  *url.URL
	Auth     Authenticator
	Sessions SessionStore
	DB       Pinger
	// Draining reports that the app is shutting down: /readyz then answers
	// 503 so load balancers stop sending before the listener closes. nil:
	// never draining.
	Draining func() bool
	Assets   *static.Assets
	// LogtoOrigin is allowed as a form/redirect target in the CSP, because
	// sign-out posts a form that redirects to Logto.
	LogtoOrigin string
	// SignInHook runs after a successful sign-in (records the person).
	SignInHook func(ctx context.Context, who auth.Identity) error

	Authz   Authorizer
	Reports ReportSource
	// Setup may be nil: every deny is then shown as access denied.
	Setup AccessSetup

	// WebhookKeys returns the current and (during a rotation) previous
	// Logto webhook signing keys.
	WebhookKeys func() []string
	Webhooks    WebhookSink

	People     People
	Directory  RoleDirectory
	SyncStates SyncStates
	Decisions  DecisionCache
	// Roles are the roles an admin may give (from the policy).
	Roles []string
	Sync  SyncAdmin

	// AuthzStats feeds /metrics; nil serves an empty page.
	AuthzStats func() authz.Stats
}

// New returns the app's root handler: every route behind the middleware
// chain.
func New(d Deps) http.Handler {
	if d.SignInHook == nil {
		d.SignInHook = func(context.Context, auth.Identity) error { return nil }
	}
	pages := &pageRenderer{assets: d.Assets, logger: d.Logger}
	signedIn := &signedIn{auth: d.Auth, sessions: d.Sessions, pages: pages}
	mux := http.NewServeMux()
	addRoutes(mux, d, pages, signedIn)

	cop := http.NewCrossOriginProtection()
	// Webhooks are authenticated by their signature, not by a browser
	// session, so cross-origin checks do not apply to them.
	cop.AddInsecureBypassPattern("POST " + webhookPath)
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages.fail(w, r, nil, errCrossOrigin)
	}))
	var h http.Handler = mux
	h = cop.Handler(h)
	h = securityHeaders(h, d.LogtoOrigin)
	h = canonicalHost(h, d.BaseURL)
	h = recoverPanics(h, pages)
	h = logRequests(h, d.Logger)
	return h
}
