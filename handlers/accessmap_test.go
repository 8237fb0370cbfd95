package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"reportgate/handlers"
	"reportgate/internal/authz"
	"reportgate/internal/perm"
)

// grantsAuthz allows anyone exactly the permissions it was last given.
type grantsAuthz struct {
	mu      sync.Mutex
	allowed []perm.Name
}

func (g *grantsAuthz) set(allowed ...perm.Name) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allowed = allowed
}

func (g *grantsAuthz) AllowedAll(_ context.Context, _ authz.User, reqs ...authz.Request) (map[authz.Request]bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[authz.Request]bool, len(reqs))
	for _, r := range reqs {
		out[r] = slices.Contains(g.allowed, perm.Name(r.Resource+":"+r.Action))
	}
	return out, nil
}

// Requirements that are not a permission.
const (
	reqAnyone   = "anyone"
	reqSignedIn = "signed in"
)

// TestAccessMapEveryRouteHasItsRequirement walks every route the app
// registers and checks who it lets in against the table below, which is
// the access map as routes.go should read.
func TestAccessMapEveryRouteHasItsRequirement(t *testing.T) {
	t.Parallel()
	accessMap := map[string]string{
		"GET /{$}":             reqAnyone,
		"GET /sign-in":         reqAnyone,
		"GET /sign-up":         reqAnyone,
		"GET /callback":        reqAnyone,
		"POST /sign-out":       reqAnyone,
		"POST /webhooks/logto": reqAnyone,
		"/webhooks/logto":      reqAnyone,
		"GET /healthz":         reqAnyone,
		"GET /readyz":          reqAnyone,
		"GET /static/":         reqAnyone,
		"GET /favicon.ico":     reqAnyone,
		"/":                    reqAnyone,

		"POST /access-requests":               reqSignedIn,
		"POST /access-requests/{id}/withdraw": reqSignedIn,

		"GET /reports":                      string(perm.ReportsView),
		"GET /reports/export.csv":           string(perm.ReportsExport),
		"GET /admin/users":                  string(perm.UsersManage),
		"POST /admin/users/{id}/role":       string(perm.UsersManage),
		"POST /admin/users/{id}/sign-out":   string(perm.UsersManage),
		"GET /admin/sync":                   string(perm.SyncManage),
		"POST /admin/sync/jobs/{id}/retry":  string(perm.SyncManage),
		"GET /admin/requests":               string(perm.UsersManage),
		"POST /admin/requests/{id}/approve": string(perm.UsersManage),
		"POST /admin/requests/{id}/deny":    string(perm.UsersManage),
		"GET /admin/audit":                  string(perm.AuditView),
		"GET /admin/audit.csv":              string(perm.AuditView),
	}
	grants := &grantsAuthz{}
	e := newEnv(t, envOptions{access: true, sync: &fakeSync{},
		authz: func(handlers.Authorizer) handlers.Authorizer { return grants }})

	registered := handlers.Patterns(e.deps)
	for _, pattern := range registered {
		if _, ok := accessMap[pattern]; !ok {
			t.Errorf("route %q is missing from the access map table", pattern)
		}
	}
	for pattern := range accessMap {
		if !slices.Contains(registered, pattern) {
			t.Errorf("the access map table names %q, which is not a route", pattern)
		}
	}

	nora := e.browser()
	nora.signIn(e, "", "norole@example.com", "demo-password")
	for _, pattern := range registered {
		need, ok := accessMap[pattern]
		if !ok {
			continue
		}
		method, path := requestOf(pattern)
		// Sequential: the subtests share grants and nora's session.
		t.Run(pattern, func(t *testing.T) {
			anon := send(t, e, e.browser(), method, path)
			switch need {
			case reqAnyone:
				if toSignIn(anon) || anon.StatusCode == http.StatusForbidden {
					t.Errorf("anonymous %s %s: %d to %q, want it let in", method, path, anon.StatusCode, anon.Header.Get("Location"))
				}
			case reqSignedIn:
				if anon.StatusCode != http.StatusSeeOther || anon.Header.Get("Location") != "/sign-in" {
					t.Errorf("anonymous %s %s: %d to %q, want 303 to /sign-in", method, path, anon.StatusCode, anon.Header.Get("Location"))
				}
				grants.set()
				if resp := send(t, e, nora, method, path); toSignIn(resp) || resp.StatusCode == http.StatusForbidden {
					t.Errorf("signed in with no permission %s %s: %d, want it let in", method, path, resp.StatusCode)
				}
			default:
				p := perm.Name(need)
				want := "/sign-in?return_to=" + url.QueryEscape(path)
				if anon.StatusCode != http.StatusSeeOther || anon.Header.Get("Location") != want {
					t.Errorf("anonymous %s %s: %d to %q, want 303 to %q", method, path, anon.StatusCode, anon.Header.Get("Location"), want)
				}
				grants.set(slices.DeleteFunc(perm.All(), func(n perm.Name) bool { return n == p })...)
				if resp := send(t, e, nora, method, path); resp.StatusCode != http.StatusForbidden {
					t.Errorf("every permission but %s, %s %s: %d, want 403", p, method, path, resp.StatusCode)
				}
				grants.set(p)
				resp := send(t, e, nora, method, path)
				if toSignIn(resp) || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusServiceUnavailable {
					t.Errorf("only %s, %s %s: %d, want it let in", p, method, path, resp.StatusCode)
				}
			}
		})
	}
}

// requestOf is a request that pattern matches: GET when it names no
// method, 1 for each wildcard, and a page under a subtree pattern.
func requestOf(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(strings.ReplaceAll(path, "{$}", ""), "{id}", "1")
	if strings.HasSuffix(path, "/") && path != pattern {
		path += "no-such-page"
	}
	if path == "/" {
		path += "no-such-page"
	}
	return method, path
}

// send is one request of b, redirects not followed; a form post carries
// the app's origin, as a browser's does.
func send(t *testing.T, e *env, b *browser, method, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.app.URL+path, nil)
	req.Header.Set("Origin", e.app.URL)
	resp, err := b.noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func toSignIn(resp *http.Response) bool {
	loc := resp.Header.Get("Location")
	return resp.StatusCode == http.StatusSeeOther && (loc == "/sign-in" || strings.HasPrefix(loc, "/sign-in?"))
}
