package handlers_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"reportgate/handlers"
	"reportgate/internal/access"
	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/metrics"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/policy"
	"reportgate/internal/reports"
	"reportgate/internal/session"
	"reportgate/internal/testkit"
	"reportgate/internal/testkit/standin"
	"reportgate/internal/webhook"
	"reportgate/static"
)

const (
	permitKey = "permit_key_test"
	appID     = "testapp0000000000000"
	appSecret = "testsecret000000000000000000000"
)

// countingTransport counts requests to Logto's token endpoint.
type countingTransport struct {
	base       http.RoundTripper
	tokenCalls atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/oidc/token") {
		c.tokenCalls.Add(1)
	}
	return c.base.RoundTrip(r)
}

type env struct {
	t         testing.TB
	permit    *permit.Server
	permitURL string
	directory *permitdir.Client
	users     *people.Store
	app       *httptest.Server
	logto     *logto.Server
	logtoURL  string
	logtoSrv  *httptest.Server
	clock     *testkit.Clock
	logtoRT   *countingTransport
	metrics   *metrics.Metrics
	hooks     *fakeSink
	store     *session.Store
	db        *database.DB
	// With envOptions.access: the access requests, the audit trail, and
	// the grant jobs enqueued (runGrants runs them).
	requests *access.Service
	trail    *audit.Trail
	grants   *grantQueue
	// deps are what the app was built from.
	deps handlers.Deps
}

type envOptions struct {
	logtoDown bool // point the app at a Logto that refuses connections
	// decisionTTL caches allows and denies this long (0: no cache).
	decisionTTL time.Duration
	sync        handlers.SyncAdmin
	reports     handlers.ReportSource // nil: the real report over the store
	// secureCookies makes the store set cookies as under an https base URL.
	secureCookies bool
	// httpsBaseURL makes the public base URL https (same host; the test
	// server still speaks http, as behind a TLS proxy).
	httpsBaseURL bool
	signInLimit  handlers.RateLimiter
	// authz, if set, wraps the app's Authorizer (to count or fail calls).
	authz func(handlers.Authorizer) handlers.Authorizer
	// directory, if set, wraps the app's PermitRoles (to fail calls).
	directory func(handlers.PermitRoles) handlers.PermitRoles
	// access turns on access requests and the audit trail.
	access bool
	// dialect is the database's; "" is SQLite.
	dialect database.Dialect
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(time.Now())}
	appSrv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + appSrv.Listener.Addr().String()

	lt := standin.StartLogto(t, logto.Config{
		Apps: []logto.App{{ID: appID, Secret: appSecret, Type: "Traditional",
			RedirectURIs: []string{appURL + "/callback"}, PostLogoutRedirectURIs: []string{appURL + "/"}}},
		SeedUsers: []logto.SeedUser{
			{Email: "viewer@example.com", Password: "demo-password", Name: "Vic Viewer"},
			{Email: "analyst@example.com", Password: "demo-password", Name: "Ana Analyst"},
			{Email: "norole@example.com", Password: "demo-password", Name: "Nora Norole"},
			{Email: "admin@example.com", Password: "demo-password", Name: "Ada Admin"},
		},
		// Rotating on every refresh makes a duplicate refresh fatal (Logto
		// revokes the grant), which is what the app must never cause.
		RotateRefreshTokenAlways: true,
		// Short ID tokens let tests step the shared clock past expiry while
		// staying within the SDK's ±60 s iat check against the real clock.
		IDTokenTTL: 20 * time.Second,
		Now:        e.clock.Now,
	})
	e.logto, e.logtoURL, e.logtoSrv = lt.Server, lt.URL, lt.HTTP

	endpoint := e.logtoURL
	if opts.logtoDown {
		dead := httptest.NewServer(nil)
		endpoint = dead.URL
		dead.Close()
	}
	e.db = databasetest.Open(t, cmp.Or(opts.dialect, database.SQLite))
	var err error
	e.store, err = session.NewStore(e.db, session.Options{Secret: []byte(strings.Repeat("k", 32)),
		Secure: opts.secureCookies, Now: e.clock.Now, CacheTTL: 2 * time.Second}) // as the app
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	pm := standin.StartPermit(t, permit.Config{APIKey: permitKey, Schema: standin.PermitSchema(pol)})
	e.permit, e.permitURL = pm.Server, pm.URL
	e.metrics = metrics.New(e.clock.Now)
	checker, err := authz.New(authz.Config{APIKey: permitKey, PDPURL: pm.URL, APIURL: pm.URL,
		Timeout: time.Second, AllowTTL: opts.decisionTTL, DenyTTL: opts.decisionTTL, Now: e.clock.Now,
		ObservePDP: e.metrics.ObservePDP})
	if err != nil {
		t.Fatal(err)
	}
	e.users = people.NewStore(e.db, e.clock.Now)
	directory, err := permitdir.New(permitdir.Config{APIKey: permitKey, APIURL: pm.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.directory = directory
	e.grant("viewer@example.com", "viewer")
	e.grant("analyst@example.com", "analyst")
	e.grant("norole@example.com", "")
	e.grant("admin@example.com", "admin")

	var authorizer handlers.Authorizer = checker
	if opts.authz != nil {
		authorizer = opts.authz(checker)
	}
	var roleDirectory handlers.PermitRoles = directory
	if opts.directory != nil {
		roleDirectory = opts.directory(directory)
	}
	e.logtoRT = &countingTransport{base: http.DefaultTransport}
	if err := e.metrics.Register(metrics.AuthzCollector(checker.Stats)); err != nil {
		t.Fatal(err)
	}
	e.hooks = &fakeSink{meters: e.metrics}
	var requests handlers.AccessRequests
	var trail handlers.AuditLog
	if opts.access {
		e.trail = audit.New(e.db, 0, e.clock.Now)
		e.grants = &grantQueue{}
		e.requests = access.New(access.Config{DB: e.db, Trail: e.trail, Policy: pol, Jobs: e.grants, Now: e.clock.Now})
		e.grants.worker = &access.GrantWorker{Service: e.requests, Permit: directory, CallTimeout: 5 * time.Second,
			OnGranted: func(_ context.Context, id string) { checker.Forget(id) }}
		requests, trail = e.requests, e.trail
	}
	base, _ := url.Parse(appURL)
	if opts.httpsBaseURL {
		base.Scheme = "https"
	}
	e.deps = handlers.Deps{
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: base,
		Auth: auth.New(auth.Config{
			Endpoint: endpoint, AppID: appID, AppSecret: appSecret,
			CallbackURL: appURL + "/callback", PostSignOutURL: appURL + "/",
			Timeout: 5 * time.Second, HTTPClient: &http.Client{Transport: e.logtoRT}, Now: e.clock.Now,
		}),
		Sessions:    e.store,
		DB:          e.db,
		Assets:      static.New(),
		LogtoOrigin: e.logtoURL,
		Authz:       authorizer,
		Reports:     cmp.Or[handlers.ReportSource](opts.reports, reports.NewService(e.users, e.clock.Now, time.Nanosecond)),

		Sync:        opts.sync,
		People:      testPeople{Store: e.users, hooks: e.hooks, sessions: e.store, decisions: checker},
		PermitRoles: roleDirectory,
		Roles:       []string{"viewer", "analyst", "admin"},

		Metrics:     e.metrics,
		WebhookKeys: func() []string { return []string{hookKey} },
		SignInLimit: opts.signInLimit,
		Requests:    requests,
		Audit:       trail,
	}
	appSrv.Config.Handler = handlers.New(e.deps)
	appSrv.Start()
	t.Cleanup(appSrv.Close)
	e.app = appSrv
	return e
}

// testPeople is the app's people lifecycle reduced to what these tests
// need: sign-in records the person (no sync to reconcile), nobody's access
// is being set up, and sync states are unknown.
type testPeople struct {
	*people.Store
	hooks     *fakeSink
	sessions  *session.Store
	decisions interface{ Forget(string) }
}

func (p testPeople) SignedIn(ctx context.Context, who auth.Identity) error {
	return p.RecordSignIn(ctx, people.FromIdentity(who))
}

func (p testPeople) Record(ctx context.Context, body []byte, ev webhook.Event) (string, error) {
	return p.hooks.Record(ctx, body, ev)
}

func (testPeople) Pending(context.Context, string) (bool, error) { return false, nil }

func (testPeople) SyncStates(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (p testPeople) CountSessions(ctx context.Context, ids []string) (map[string]int, error) {
	return p.sessions.CountActive(ctx, ids)
}

func (p testPeople) EndSessions(ctx context.Context, id string) (int, error) {
	return p.sessions.RevokeUser(ctx, id)
}

func (p testPeople) Forget(id string) { p.decisions.Forget(id) }

// grant creates the person in Permit (through the real SDK) and gives them
// role ("" = none).
func (e *env) grant(email, role string) {
	e.t.Helper()
	u, ok := e.logto.UserByEmail(email)
	if !ok {
		e.t.Fatalf("no stand-in user %s", email)
	}
	if err := e.directory.SyncUser(context.Background(), u.ID, email, ""); err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		if err := e.directory.AssignRole(context.Background(), u.ID, role); err != nil {
			e.t.Fatal(err)
		}
	}
}

// browser is a person's cookie jar and an HTTP client that follows
// redirects like a browser.
type browser struct {
	t      testing.TB
	client *http.Client
	jar    *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, jar: jar, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// noFollow returns a client sharing the jar that stops at redirects.
func (b *browser) noFollow() *http.Client {
	return &http.Client{Jar: b.jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// page is what the browser ends on.
type page = testkit.Page

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	return testkit.Open(b.t, b.client, req)
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return b.do(req)
}

// submit fills the first form that has every named field and sends it,
// keeping hidden fields, as a browser would.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	req, err := p.FormRequest(fields)
	if err != nil {
		b.t.Fatalf("%v:\n%s", err, p.Body)
	}
	return b.do(req)
}

// signIn goes through the stand-in's hosted sign-in page.
func (b *browser) signIn(e *env, returnTo, email, password string) page {
	b.t.Helper()
	start := e.app.URL + "/sign-in"
	if returnTo != "" {
		start += "?return_to=" + url.QueryEscape(returnTo)
	}
	login := b.get(start)
	if login.Status != http.StatusOK {
		b.t.Fatalf("sign-in page: status %d at %s", login.Status, login.URL)
	}
	return b.submit(login, map[string]string{"email": email, "password": password})
}

func (b *browser) signUp(e *env, name, email, password string) page {
	b.t.Helper()
	form := b.get(e.app.URL + "/sign-up")
	if form.Status != http.StatusOK {
		b.t.Fatalf("sign-up page: status %d at %s", form.Status, form.URL)
	}
	return b.submit(form, map[string]string{"name": name, "email": email, "password": password})
}

// signOut posts the header's sign-out form from page p.
func (b *browser) signOut(e *env) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/sign-out", nil)
	req.Header.Set("Origin", e.app.URL)
	resp, err := b.noFollow().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (b *browser) sessionCookie(e *env) *http.Cookie {
	u, _ := url.Parse(e.app.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == e.store.CookieName() {
			return c
		}
	}
	return nil
}

// answer is one response of the app, redirects not followed.
func answer(t *testing.T, e *env, method, path string, edit func(*http.Request)) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.app.URL+path, nil)
	if edit != nil {
		edit(req)
	}
	resp, err := e.browser().noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func testid(p page, id string) *goquery.Selection { return p.TestID(id) }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
