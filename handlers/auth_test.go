package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignInLandsOnReturnTo(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	home := b.get(e.app.URL + "/")
	if testid(home, "sign-in").Length() == 0 || testid(home, "user-name").Length() != 0 {
		t.Fatal("signed-out home page must offer sign-in and show no user")
	}
	landed := b.signIn(e, "/?from=test", "viewer@example.com", "demo-password")
	if landed.status != http.StatusOK || landed.url.Path != "/" || landed.url.Query().Get("from") != "test" {
		t.Fatalf("landed on %s (status %d), want /?from=test", landed.url, landed.status)
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
	e := newEnv(t, envOptions{})
	b := e.browser()
	form := b.get(e.app.URL + "/sign-up")
	if form.doc.Find(`input[name="name"]`).Length() == 0 {
		t.Fatalf("/sign-up did not open the registration screen (at %s)", form.url)
	}
	landed := b.submit(form, map[string]string{"name": "Grace Hopper", "email": "grace@example.com", "password": "correct-horse-9"})
	if got := strings.TrimSpace(testid(landed, "user-name").Text()); got != "Grace Hopper" {
		t.Fatalf("user-name = %q at %s", got, landed.url)
	}
	if got := strings.TrimSpace(testid(landed, "home-email").Text()); got != "grace@example.com" {
		t.Errorf("home-email = %q", got)
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	for _, target := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "http:evil.example"} {
		t.Run(target, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			b := e.browser()
			landed := b.signIn(e, target, "viewer@example.com", "demo-password")
			if landed.url.Host != strings.TrimPrefix(e.app.URL, "http://") || landed.url.Path != "/" {
				t.Fatalf("return_to %q led to %s", target, landed.url)
			}
		})
	}
}

func TestTamperedCookieIsSignedOut(t *testing.T) {
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
	// Same browser, same callback again.
	again := b.get(callback.String())
	if again.status != http.StatusBadRequest || testid(again, "error-page").AttrOr("data-status", "") != "400" {
		t.Errorf("replayed callback: status %d", again.status)
	}
	// Another browser (no sign-in in progress) presenting the same code.
	other := e.browser().get(callback.String())
	if other.status != http.StatusBadRequest {
		t.Errorf("callback in a foreign session: status %d", other.status)
	}
	if testid(other, "user-name").Length() != 0 {
		t.Error("foreign session got signed in")
	}
}

func TestSessionFromBeforeSignInIsNotSignedIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	resp, err := b.noFollow().Get(e.app.URL + "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	before := b.sessionCookie(e)
	if before == nil {
		t.Fatal("no session cookie set when sign-in starts")
	}
	login := b.get(resp.Header.Get("Location"))
	b.submit(login, map[string]string{"email": "viewer@example.com", "password": "demo-password"})
	after := b.sessionCookie(e)
	if after == nil || after.Value == before.Value {
		t.Fatal("session id was not renewed at sign-in")
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: before.Name, Value: before.Value})
	if p := e.browser().do(req); testid(p, "user-name").Length() != 0 {
		t.Fatal("the pre-sign-in session id is signed in (session fixation)")
	}
}

func TestCrossOriginSignOutRefused(t *testing.T) {
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
	if end.url.Host == loc.Host && end.doc.Find("form").Length() > 0 {
		end = b.submit(end, map[string]string{})
	}
	if end.url.String() != e.app.URL+"/" || testid(end, "sign-in").Length() == 0 {
		t.Fatalf("after end-session at %s; want the signed-out home page", end.url)
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
	if p := e.browser().do(req); testid(p, "user-name").Length() != 0 {
		t.Fatal("the old session cookie still works after sign-out")
	}
}

func TestCallbackErrorPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	resp, err := b.noFollow().Get(e.app.URL + "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	p := b.get(e.app.URL + "/callback?error=access_denied&error_description=cancelled&state=" + url.QueryEscape(state))
	if p.status != http.StatusBadRequest || testid(p, "error-page").AttrOr("data-status", "") != "400" {
		t.Fatalf("access_denied callback: status %d", p.status)
	}
	if !strings.Contains(p.doc.Text(), "cancelled") {
		t.Error("the page does not say sign-in was cancelled")
	}
	if p.doc.Find(`a[href="/sign-in"]`).Length() == 0 {
		t.Error("no way to try again")
	}
}

func TestLogtoUnreachableIs502(t *testing.T) {
	e := newEnv(t, envOptions{logtoDown: true})
	p := e.browser().get(e.app.URL + "/sign-in")
	if p.status != http.StatusBadGateway || testid(p, "error-page").AttrOr("data-status", "") != "502" {
		t.Fatalf("sign-in with Logto down: status %d", p.status)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.browser().get(e.app.URL + "/no/such/page")
	if p.status != http.StatusNotFound || testid(p, "error-page").AttrOr("data-status", "") != "404" {
		t.Fatalf("status %d", p.status)
	}
}

func TestOtherHostRedirectsToBaseURL(t *testing.T) {
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

func TestExpiredIDTokenRefreshesOnceForConcurrentRequests(t *testing.T) {
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
	e := newEnv(t, envOptions{})
	home := e.browser().get(e.app.URL + "/")
	href, ok := home.doc.Find(`link[rel="stylesheet"]`).Attr("href")
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
