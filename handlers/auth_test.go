package handlers_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/handlers"
	"reportgate/static"
)

func TestSignInLandsOnReturnTo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	home := b.get(e.app.URL + "/")
	if testid(home, "sign-in").Length() == 0 || testid(home, "user-name").Length() != 0 {
		t.Fatal("signed-out home page must offer sign-in and show no user")
	}
	landed := b.signIn(e, "/?from=test", "viewer@example.com", "demo-password")
	if landed.Status != http.StatusOK || landed.URL.Path != "/" || landed.URL.Query().Get("from") != "test" {
		t.Fatalf("landed on %s (status %d), want /?from=test", landed.URL, landed.Status)
	}
	if got := strings.TrimSpace(testid(landed, "user-name").Text()); got != "Vic Viewer" {
		t.Errorf("user-name = %q, want Vic Viewer", got)
	}
	// Still signed in on the next request.
	again := b.get(e.app.URL + "/")
	if got := strings.TrimSpace(testid(again, "user-name").Text()); got != "Vic Viewer" {
		t.Errorf("after reload user-name = %q", got)
	}
}

func TestSignUpCreatesAccountAndSignsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	form := b.get(e.app.URL + "/sign-up")
	if form.Doc.Find(`input[name="name"]`).Length() == 0 {
		t.Fatalf("/sign-up did not open the registration screen (at %s)", form.URL)
	}
	landed := b.submit(form, map[string]string{"name": "Grace Hopper", "email": "grace@example.com", "password": "correct-horse-9"})
	if got := strings.TrimSpace(testid(landed, "user-name").Text()); got != "Grace Hopper" {
		t.Fatalf("user-name = %q at %s", got, landed.URL)
	}
	if got := strings.TrimSpace(testid(landed, "home-email").Text()); got != "grace@example.com" {
		t.Errorf("home-email = %q", got)
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "http:evil.example"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			b := e.browser()
			landed := b.signIn(e, target, "viewer@example.com", "demo-password")
			if landed.URL.Host != strings.TrimPrefix(e.app.URL, "http://") || landed.URL.Path != "/" {
				t.Fatalf("return_to %q led to %s", target, landed.URL)
			}
		})
	}
}

func TestTamperedCookieIsSignedOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "viewer@example.com", "demo-password")
	c := b.sessionCookie(e)
	if c == nil {
		t.Fatal("no session cookie after sign-in")
	}
	tampered := []byte(c.Value)
	i := len(tampered) / 2
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: string(tampered)})
	p := e.browser().do(req)
	if testid(p, "user-name").Length() != 0 {
		t.Fatal("a tampered cookie was accepted")
	}
}

func TestReplayedCallbackRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	login := b.get(e.app.URL + "/sign-in")
	// Stop at the redirect back to the app to capture the callback URL.
	var callback *url.URL
	b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" && callback == nil {
			callback = req.URL
		}
		return nil
	}
	b.submit(login, map[string]string{"email": "viewer@example.com", "password": "demo-password"})
	if callback == nil {
		t.Fatal("never redirected to /callback")
	}
	// Same browser, same callback again (Back, reload): the person is
	// signed in already, so home, never back into the sign-in.
	b.client.CheckRedirect = nil
	again := b.get(callback.String())
	if again.Status != http.StatusOK || again.URL.Path != "/" || testid(again, "user-name").Length() == 0 {
		t.Errorf("replayed callback while signed in: status %d at %s", again.Status, again.URL)
	}
	// Another browser (no sign-in in progress) presenting the same code.
	other := e.browser().get(callback.String())
	if other.Status != http.StatusBadRequest {
		t.Errorf("callback in a foreign session: status %d", other.Status)
	}
	if testid(other, "user-name").Length() != 0 {
		t.Error("foreign session got signed in")
	}
}

func TestSessionFromBeforeSignInIsNotSignedIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	// Sign-in creates no session before the callback, so plant one: a
	// valid session cookie whose row holds data (as an attacker who knows
	// a session id of their own would).
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	planted, err := e.store.Get(r, "planted")
	if err != nil {
		t.Fatal(err)
	}
	planted.Values["planted"] = "by someone else"
	if err := planted.Save(r, w); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.app.URL)
	b.jar.SetCookies(u, w.Result().Cookies())
	before := b.sessionCookie(e)
	if before == nil {
		t.Fatal("no planted session cookie")
	}
	b.signIn(e, "", "viewer@example.com", "demo-password")
	after := b.sessionCookie(e)
	if after == nil || after.Value == before.Value {
		t.Fatal("session id was not renewed at sign-in")
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: before.Name, Value: before.Value})
	if p := e.browser().do(req); testid(p, "user-name").Length() != 0 {
		t.Fatal("the pre-sign-in session id is signed in (session fixation)")
	}
	q := httptest.NewRequest(http.MethodGet, "/", nil)
	q.AddCookie(after)
	if signedIn, err := e.store.Get(q, "check"); err != nil || signedIn.Values["planted"] != nil {
		t.Fatalf("a value of the planted session carried into the signed-in one (%v)", err)
	}
}

func TestCrossOriginSignOutRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "viewer@example.com", "demo-password")
	for name, header := range map[string][2]string{
		"origin":         {"Origin", "https://evil.example"},
		"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/sign-out", nil)
		req.Header.Set(header[0], header[1])
		resp, err := b.noFollow().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: cross-origin sign-out answered %d, want 403", name, resp.StatusCode)
		}
	}
	if p := b.get(e.app.URL + "/"); testid(p, "user-name").Length() == 0 {
		t.Fatal("a cross-origin POST signed the person out")
	}
}

func TestSignOutEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "viewer@example.com", "demo-password")
	old := b.sessionCookie(e)
	resp := b.signOut(e)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Path != "/oidc/session/end" || loc.Query().Get("post_logout_redirect_uri") != e.app.URL+"/" {
		t.Fatalf("sign-out redirected to %s, want Logto end-session back to the app", loc)
	}
	// Follow Logto's end-session page (an auto-submitting form) home.
	end := b.get(loc.String())
	if end.URL.Host == loc.Host && end.Doc.Find("form").Length() > 0 {
		end = b.submit(end, map[string]string{})
	}
	if end.URL.String() != e.app.URL+"/" || testid(end, "sign-in").Length() == 0 {
		t.Fatalf("after end-session at %s; want the signed-out home page", end.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
	if p := e.browser().do(req); testid(p, "user-name").Length() != 0 {
		t.Fatal("the old session cookie still works after sign-out")
	}
}

// TestCancelGoesBackWithNotice: cancelling at Logto is not an error; the
// person lands on a page they may see, told once which flow they left.
func TestCancelGoesBackWithNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ start, want string }{
		{"/sign-in?return_to=/reports", "Sign-in cancelled."},
		{"/sign-up", "Sign-up cancelled."},
	} {
		b := e.browser()
		resp, err := b.noFollow().Get(e.app.URL + tc.start)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		state := loc.Query().Get("state")
		p := b.get(e.app.URL + "/callback?error=access_denied&error_description=cancelled&state=" + url.QueryEscape(state))
		if p.Status != http.StatusOK || p.URL.Path != "/" || testid(p, "error-page").Length() != 0 {
			t.Fatalf("%s then cancel: status %d at %s", tc.start, p.Status, p.URL)
		}
		if got := strings.TrimSpace(testid(p, "flash").Text()); got != tc.want {
			t.Errorf("%s then cancel: flash %q, want %q", tc.start, got, tc.want)
		}
		if again := b.get(e.app.URL + "/"); testid(again, "flash").Length() != 0 {
			t.Errorf("%s then cancel: the notice is shown twice", tc.start)
		}
	}
}

func TestOtherCallbackErrorPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	resp, err := b.noFollow().Get(e.app.URL + "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	p := b.get(e.app.URL + "/callback?error=server_error&state=" + url.QueryEscape(loc.Query().Get("state")))
	if p.Status != http.StatusBadRequest || p.Doc.Find(`a[href="/sign-in"]`).Length() == 0 {
		t.Fatalf("server_error callback: status %d, or no way to try again", p.Status)
	}
}

// TestRedirectsAndPagesAreNotStored: browsers replay stored redirects on
// Back, so no answer but a static asset may be stored.
func TestRedirectsAndPagesAreNotStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "viewer@example.com", "demo-password")
	for _, path := range []string{"/sign-in", "/sign-up", "/reports", "/", "/callback?state=x", "/no-such-page"} {
		for name, client := range map[string]*http.Client{"signed in": b.noFollow(), "signed out": e.browser().noFollow()} {
			resp, err := client.Get(e.app.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s, %s: %d with Cache-Control %q", path, name, resp.StatusCode, cc)
			}
		}
	}
	if resp := b.signOut(e); resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-out redirect: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

// TestSignInWithLogtoDownAfterFirstSignIn: discovery is cached by the first
// sign-in; a later one must still notice Logto is gone and say so.
func TestSignInWithLogtoDownAfterFirstSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.browser().signIn(e, "", "viewer@example.com", "demo-password")
	e.logtoSrv.Close()
	e.clock.Advance(time.Minute)
	p := e.browser().get(e.app.URL + "/sign-in")
	if p.Status != http.StatusBadGateway || testid(p, "error-page").AttrOr("data-status", "") != "502" {
		t.Fatalf("sign-in with Logto down: status %d at %s", p.Status, p.URL)
	}
}

func TestLogtoUnreachableIs502(t *testing.T) {
	e := newEnv(t, envOptions{logtoDown: true})
	p := e.browser().get(e.app.URL + "/sign-in")
	if p.Status != http.StatusBadGateway || testid(p, "error-page").AttrOr("data-status", "") != "502" {
		t.Fatalf("sign-in with Logto down: status %d", p.Status)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	p := e.browser().get(e.app.URL + "/no/such/page")
	if p.Status != http.StatusNotFound || testid(p, "error-page").AttrOr("data-status", "") != "404" {
		t.Fatalf("status %d", p.Status)
	}
}

func TestOtherHostRedirectsToBaseURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u, _ := url.Parse(e.app.URL)
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/sign-in?return_to=/x", nil)
	req.Host = "localhost:" + u.Port()
	resp, err := e.browser().noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != e.app.URL+"/sign-in?return_to=/x" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestEquivalentHostIsNotRedirected: browsers send Host in lower case and
// without the default port, so a base URL written otherwise must still
// match it; comparing the strings redirected every page to itself.
func TestEquivalentHostIsNotRedirected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, host string }{
		{"https://reports.example.com:443", "reports.example.com"},
		{"http://127.0.0.1:80", "127.0.0.1"},
		{"https://Reports.Example.com", "reports.example.com"},
		{"http://[::1]:80", "[::1]"},
	} {
		base, err := url.Parse(tc.base)
		if err != nil {
			t.Fatal(err)
		}
		h := handlers.New(handlers.Deps{Logger: slog.New(slog.DiscardHandler), BaseURL: base, Assets: static.New()})
		req := httptest.NewRequest(http.MethodGet, "/no-such-page", nil)
		req.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			t.Errorf("base %s, Host %q: status %d (Location %q), want 404: the hosts are the same", tc.base, tc.host, w.Code, w.Header().Get("Location"))
		}
	}
}

func TestExpiredIDTokenRefreshesOnceForConcurrentRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "viewer@example.com", "demo-password")
	// Past the ID token's 20 s. The stand-in rotates the refresh token on
	// every refresh, so a second refresh with the old token would revoke the
	// grant.
	e.clock.Advance(25 * time.Second)
	before := e.logtoRT.tokenCalls.Load()
	var wg sync.WaitGroup
	names := make([]string, 8)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := b.get(e.app.URL + "/")
			names[i] = strings.TrimSpace(testid(p, "user-name").Text())
		}()
	}
	wg.Wait()
	for i, n := range names {
		if n != "Vic Viewer" {
			t.Errorf("request %d after expiry: user-name %q", i, n)
		}
	}
	if got := e.logtoRT.tokenCalls.Load() - before; got != 1 {
		t.Errorf("%d refreshes for one expired session, want 1", got)
	}
	// And the rotated grant still works later on.
	e.clock.Advance(25 * time.Second)
	if p := b.get(e.app.URL + "/"); strings.TrimSpace(testid(p, "user-name").Text()) != "Vic Viewer" {
		t.Error("signed out after the second refresh: the grant was revoked")
	}
}

func TestStaticAssetsHashedAndCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	home := e.browser().get(e.app.URL + "/")
	href, ok := home.Doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !ok || !strings.HasPrefix(href, "/static/app.") {
		t.Fatalf("stylesheet href %q", href)
	}
	resp, err := http.Get(e.app.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset: status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, _ = http.Get(e.app.URL + "/static/app.000000000000.css")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("stale hash: status %d, want 404", resp.StatusCode)
	}
}

// pendingCookieName is the pending sign-in cookie's name under http.
const pendingCookieName = "reportgate_signin"

func sessionRows(t testing.TB, e *env) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(ctx(t), `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dbBytes is the size of the SQLite app database, WAL content included.
func dbBytes(t testing.TB, e *env) int64 {
	t.Helper()
	var n int64
	if err := e.db.QueryRowContext(ctx(t), `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func cookieNamed(cookies []*http.Cookie, name string) *http.Cookie {
	for _, c := range cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// callbackURL signs in on Logto's page login and returns the URL Logto
// sends the browser back to, without visiting it.
func (b *browser) callbackURL(login page, email string) *url.URL {
	b.t.Helper()
	var callback *url.URL
	saved := b.client.CheckRedirect
	b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.client.CheckRedirect = saved }()
	b.submit(login, map[string]string{"email": email, "password": "demo-password"})
	if callback == nil {
		b.t.Fatal("Logto never redirected to /callback")
	}
	return callback
}

// pendingCookie is b's pending sign-in cookie; the test stops without one.
func (b *browser) pendingCookie(e *env) *http.Cookie {
	b.t.Helper()
	u, _ := url.Parse(e.app.URL)
	c := cookieNamed(b.jar.Cookies(u), pendingCookieName)
	if c == nil {
		b.t.Fatal("no pending sign-in cookie")
	}
	return c
}

// visit GETs rawURL without following redirects, with b's cookies.
func (b *browser) visit(rawURL string) *http.Response {
	b.t.Helper()
	resp, err := b.noFollow().Get(rawURL)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAnonymousSignInWritesNoRow(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		e := newEnv(t, envOptions{secureCookies: secure})
		name := pendingCookieName
		if secure {
			name = "__Host-" + name
		}
		for _, path := range []string{"/sign-in", "/sign-up", "/sign-in?return_to=/reports"} {
			resp := e.browser().visit(e.app.URL + path)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.logtoURL) {
				t.Fatalf("%s: status %d to %q, want a redirect to Logto", path, resp.StatusCode, resp.Header.Get("Location"))
			}
			if n := sessionRows(t, e); n != 0 {
				t.Fatalf("secure=%v %s: %d session rows", secure, path, n)
			}
			if c := cookieNamed(resp.Cookies(), e.store.CookieName()); c != nil {
				t.Fatalf("secure=%v %s: a session cookie before sign-in", secure, path)
			}
			c := cookieNamed(resp.Cookies(), name)
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure ||
				c.Path != "/" || c.Domain != "" || c.MaxAge != 600 {
				t.Fatalf("secure=%v %s: pending cookie %+v", secure, path, c)
			}
		}
	}
}

// TestSignInFloodCostsNothing: anonymous sign-in starts with huge
// return_to values do not grow the database, and sign-in still works.
func TestSignInFloodCostsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const requests, workers = 2000, 4
	rowsBefore, bytesBefore := sessionRows(t, e), dbBytes(t, e)
	target := e.app.URL + "/sign-in?return_to=" + url.QueryEscape("/reports?q="+strings.Repeat("x", 100<<10))
	// Straight into the app's handler: the loopback socket would only add
	// time. The request is parsed once, as the server would, then cloned.
	flood := httptest.NewRequest(http.MethodGet, target, nil)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range requests / workers {
				w := httptest.NewRecorder()
				e.app.Config.Handler.ServeHTTP(w, flood.Clone(ctx(t)))
				if w.Code != http.StatusSeeOther {
					t.Errorf("status %d", w.Code)
					return
				}
			}
		})
	}
	wg.Wait()
	rows, size := sessionRows(t, e)-rowsBefore, dbBytes(t, e)-bytesBefore
	t.Logf("%d anonymous /sign-in with a 100 KB return_to: %+d session rows, database %d → %d bytes (%+d)",
		requests, rows, bytesBefore, bytesBefore+size, size)
	if rows != 0 || size >= 1<<20 {
		t.Fatalf("the flood added %d rows and %d bytes", rows, size)
	}
	// The SDK checks an ID token's iat against the real clock (±60 s).
	e.clock.Advance(time.Since(e.clock.Now()))
	landed := e.browser().signIn(e, "/reports", "viewer@example.com", "demo-password")
	if landed.URL.Path != "/reports" || strings.TrimSpace(testid(landed, "user-name").Text()) != "Vic Viewer" {
		t.Fatalf("sign-in after the flood landed on %s (status %d)", landed.URL, landed.Status)
	}
}

func TestLongReturnToFallsBackToRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ returnTo, want string }{
		{"/reports?q=" + strings.Repeat("x", 2100), "/"},
		{"/reports?q=" + strings.Repeat("x", 2000), "/reports?q=" + strings.Repeat("x", 2000)},
		{"/reports?" + strings.Repeat("&", 2000), "/reports?" + strings.Repeat("&", 2000)},
	} {
		landed := e.browser().signIn(e, tc.returnTo, "viewer@example.com", "demo-password")
		if landed.URL.RequestURI() != tc.want {
			t.Errorf("return_to of %d bytes landed on %.40s…, want %.40s…", len(tc.returnTo), landed.URL.RequestURI(), tc.want)
		}
	}
}

// TestHTMLCharacterReturnToStartsSignIn: a local return_to within the cap
// made of characters encoding/json escapes by default ('&' as 6 bytes)
// still fits the pending sign-in cookie: the visitor is sent to Logto, not
// answered 500.
func TestHTMLCharacterReturnToStartsSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	returnTo := "/reports?" + strings.Repeat("&", 1000)
	resp := answer(t, e, http.MethodGet, "/sign-in?return_to="+url.QueryEscape(returnTo), nil)
	if resp.StatusCode >= 500 {
		t.Fatalf("GET /sign-in with a %d-byte local return_to: status %d, want a redirect to Logto",
			len(returnTo), resp.StatusCode)
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.logtoURL) {
		t.Fatalf("status %d to %q, want a redirect to Logto", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestTamperedPendingCookieRefused: a pending sign-in cookie that does
// not open (here one byte changed, as a forger setting their own return_to
// would) gives the "start again" page, is deleted, and never reaches Logto.
func TestTamperedPendingCookieRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	callback := b.callbackURL(b.get(e.app.URL+"/sign-in?return_to=/reports"), "viewer@example.com")
	c := b.pendingCookie(e)
	u, _ := url.Parse(e.app.URL)
	v := []byte(c.Value)
	v[len(v)/2] ^= 1
	b.jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v), Path: "/"}})
	calls := e.logtoRT.tokenCalls.Load()
	resp := b.visit(callback.String())
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("tampered pending cookie: status %d", resp.StatusCode)
	}
	if d := cookieNamed(resp.Cookies(), pendingCookieName); d == nil || d.MaxAge >= 0 {
		t.Errorf("tampered pending cookie not deleted: %+v", d)
	}
	if e.logtoRT.tokenCalls.Load() != calls {
		t.Error("the code was exchanged despite the tampered cookie")
	}
	if p := b.get(e.app.URL + "/"); testid(p, "user-name").Length() != 0 {
		t.Error("signed in with a tampered pending cookie")
	}
	// The page is the existing "start a fresh sign-in" one.
	p := b.get(callback.String())
	if p.Status != http.StatusBadRequest || p.Doc.Find(`a[href="/sign-in"]`).Length() == 0 {
		t.Errorf("status %d, want the 400 page with a way to sign in again", p.Status)
	}
}

func TestPendingCookieUsedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	t.Run("success", func(t *testing.T) {
		b := e.browser()
		callback := b.callbackURL(b.get(e.app.URL+"/sign-in?return_to=/reports"), "viewer@example.com")
		used := b.pendingCookie(e)
		resp := b.visit(callback.String())
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports" {
			t.Fatalf("callback: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if c := cookieNamed(resp.Cookies(), pendingCookieName); c == nil || c.MaxAge >= 0 {
			t.Errorf("pending cookie not deleted at a successful callback: %+v", c)
		}
		if rows := sessionRows(t, e); rows != 1 {
			t.Errorf("%d session rows after one sign-in", rows)
		}
		// Replayed by the same browser, and by another one holding a copy of
		// the pending cookie: the code is spent either way; the signed-in
		// person is sent home.
		calls := e.logtoRT.tokenCalls.Load()
		if again := b.visit(callback.String()); again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != "/" ||
			e.logtoRT.tokenCalls.Load() != calls {
			t.Errorf("replayed callback: status %d to %q", again.StatusCode, again.Header.Get("Location"))
		}
		thief := e.browser()
		u, _ := url.Parse(e.app.URL)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: used.Name, Value: used.Value, Path: "/"}})
		if p := thief.get(callback.String()); p.Status != http.StatusBadRequest || testid(p, "user-name").Length() != 0 {
			t.Errorf("replay with a copied pending cookie: status %d", p.Status)
		}
	})
	t.Run("failure", func(t *testing.T) {
		b := e.browser()
		loc, _ := url.Parse(b.visit(e.app.URL + "/sign-in").Header.Get("Location"))
		resp := b.visit(e.app.URL + "/callback?error=access_denied&state=" + url.QueryEscape(loc.Query().Get("state")))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("cancelled callback: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if c := cookieNamed(resp.Cookies(), pendingCookieName); c == nil || c.MaxAge >= 0 {
			t.Errorf("pending cookie not deleted at a failed callback: %+v", c)
		}
	})
}

func TestExpiredPendingSignInRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	callback := b.callbackURL(b.get(e.app.URL+"/sign-in"), "viewer@example.com")
	e.clock.Advance(10*time.Minute + time.Second)
	calls := e.logtoRT.tokenCalls.Load()
	p := b.get(callback.String())
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Doc.Text(), "Start a fresh sign-in") {
		t.Fatalf("callback 10 min after the start: status %d", p.Status)
	}
	if e.logtoRT.tokenCalls.Load() != calls {
		t.Error("an expired pending sign-in reached Logto's token endpoint")
	}
}

func TestTwoTabsSignInConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	tab1 := b.get(e.app.URL + "/sign-in?return_to=" + url.QueryEscape("/reports?tab=1"))
	tab2 := b.get(e.app.URL + "/sign-in?return_to=" + url.QueryEscape("/?tab=2"))
	callback1 := b.callbackURL(tab1, "viewer@example.com")
	callback2 := b.callbackURL(tab2, "viewer@example.com")
	for _, tc := range []struct {
		callback *url.URL
		want     string
	}{{callback1, "/reports?tab=1"}, {callback2, "/?tab=2"}} {
		landed := b.get(tc.callback.String())
		if landed.Status != http.StatusOK || landed.URL.RequestURI() != tc.want ||
			strings.TrimSpace(testid(landed, "user-name").Text()) != "Vic Viewer" {
			t.Errorf("tab landed on %s (status %d), want %s signed in", landed.URL, landed.Status, tc.want)
		}
	}
}
