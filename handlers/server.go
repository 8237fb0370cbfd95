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
	"time"

	"github.com/gorilla/sessions"
	"github.com/logto-io/go/v2/client"

	"reportgate/internal/auth"
	"reportgate/internal/metrics"
	"reportgate/internal/people"
	"reportgate/internal/session"
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
// sessions, and keep sign-ins in progress in the browser.
type SessionStore interface {
	sessions.Store
	Renew(r *http.Request, w http.ResponseWriter, s *sessions.Session) error
	Destroy(r *http.Request, w http.ResponseWriter, s *sessions.Session) error
	AddPendingSignIn(w http.ResponseWriter, r *http.Request, p session.PendingSignIn) error
	TakePendingSignIn(w http.ResponseWriter, r *http.Request, state string) (session.PendingSignIn, error)
	// SetNotice and TakeNotice keep a one-line notice for a visitor who is
	// not signed in, in a short-lived cookie.
	SetNotice(w http.ResponseWriter, text string) error
	TakeNotice(w http.ResponseWriter, r *http.Request) string
}

// People is what the HTTP layer knows and does about a person
// (people.Service in the app).
type People interface {
	// WebhookSink records Logto's deliveries about people.
	WebhookSink
	// SignedIn runs after a successful sign-in (records the person).
	SignedIn(ctx context.Context, who auth.Identity) error
	// Pending says whether a person's access is still being set up (their
	// sync to Permit is queued, failing, or too recent to have propagated).
	Pending(ctx context.Context, userID string) (bool, error)
	// SyncStates tells people's sync states ("synced", "queued", …) by id.
	SyncStates(ctx context.Context, userIDs []string) (map[string]string, error)

	Find(ctx context.Context, search string, limit, offset int) ([]people.Person, int, error)
	Get(ctx context.Context, id string) (people.Person, error)
	Names(ctx context.Context, ids []string) (map[string]people.Person, error)
	WithRoleLock(ctx context.Context, fn func(*people.RoleTx) error) error

	// CountSessions and EndSessions count and end people's sessions.
	CountSessions(ctx context.Context, userIDs []string) (map[string]int, error)
	EndSessions(ctx context.Context, userID string) (int, error)
	// Forget drops the cached decisions of a person whose role changed.
	Forget(userID string)
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

	Authz   Authorizer
	Reports ReportSource

	// WebhookKeys returns the current and (during a rotation) previous
	// Logto webhook signing keys.
	WebhookKeys func() []string

	// People is everything about a person: sign-in, Logto's webhooks,
	// access being set up, the records, sessions, cached decisions.
	People      People
	PermitRoles PermitRoles
	// Roles are the roles an admin may give (from the policy).
	Roles []string
	// Requests may be nil: no access requests (no form, no badge).
	Requests AccessRequests
	// Audit may be nil in tests that do not read it: nothing is recorded.
	Audit AuditLog
	// Sync may be nil in tests that do not open /admin/sync: no badge then.
	Sync SyncAdmin

	// Metrics receives request and webhook measurements and gives the
	// admin sync page its in-memory delivery counts; nil records nothing.
	// It is served on its own listener, never by this handler.
	Metrics Observer
	// SignInLimit limits GET /sign-in, /sign-up and /callback per client;
	// WebhookLimit limits rejected webhook deliveries per client (a valid
	// signed delivery is never limited). nil means no limit.
	SignInLimit  RateLimiter
	WebhookLimit RateLimiter
}

// Observer is where the HTTP layer reports what it measured
// (metrics.Metrics in the app).
type Observer interface {
	// ObserveHTTP records an answered request; route is the ServeMux
	// pattern that matched, "" if none.
	ObserveHTTP(route, method string, code int, d time.Duration)
	// Webhook counts a delivery by outcome.
	Webhook(outcome string)
	// WebhookCounts are the delivery counts of this replica, in memory.
	WebhookCounts(outcomes ...string) []metrics.Count
}

// RateLimiter decides whether a request's client may go on now; if not, it
// says how long until it may.
type RateLimiter interface {
	Allow(r *http.Request) (ok bool, retryAfter time.Duration)
}

// noMetrics is the Observer when none is given.
type noMetrics struct{}

func (noMetrics) ObserveHTTP(string, string, int, time.Duration) {}
func (noMetrics) Webhook(string)                                 {}
func (noMetrics) WebhookCounts(outcomes ...string) []metrics.Count {
	return metrics.NewTally(nil).Counts(outcomes...)
}

// New returns the app's root handler: every route behind the middleware
// chain.
func New(d Deps) http.Handler {
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
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
	// Security headers wrap everything that answers, the host redirect and
	// the panic page included; logRequests is outermost so every answer is
	// logged and measured.
	var h http.Handler = mux
	h = cop.Handler(h)
	h = canonicalHost(h, d.BaseURL)
	h = securityHeaders(h, d.LogtoOrigin, d.BaseURL.Scheme == "https")
	h = noStore(h)
	h = recoverPanics(h, pages)
	h = logRequests(h, d.Logger, mux, d.Metrics)
	return h
}
