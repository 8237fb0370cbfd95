package logto

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/logto-io/go/v2/core"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	status, body := e.send(mustRequest(http.MethodGet, e.url+"/oidc/.well-known/openid-configuration"))
	var d map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &d) != nil || d["issuer"] != e.url+"/oidc" ||
		d["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("discovery %d %s", status, body)
	}
	resp, err := http.Get(e.url + "/oidc/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache, max-age=0, must-revalidate" {
		t.Errorf("JWKS Cache-Control %q", cc)
	}
	// Every member must be a string: the SDK decodes []map[string]string.
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS not all strings: %v", err)
	}
	k := set.Keys[0]
	components := `{"crv":"P-384","kty":"EC","x":"` + k["x"] + `","y":"` + k["y"] + `"}`
	sum := sha256.Sum256([]byte(components))
	if k["kty"] != "EC" || k["crv"] != "P-384" || k["kid"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatalf("key %v: kid is not the SHA-256 of its required members", k)
	}
	if _, hasPrivate := k["d"]; hasPrivate {
		t.Fatal("JWKS leaks the private key")
	}
}

func mustRequest(method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

func TestAuthorizeRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	t.Run("unregistered redirect_uri shows an error page, no redirect", func(t *testing.T) {
		u := strings.Replace(e.authURL(authParams{}), url.QueryEscape(redirectURI), url.QueryEscape("http://evil.test/cb"), 1)
		p := e.browser().get(u)
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" || !strings.Contains(p.Body, "redirect_uri") {
			t.Fatalf("%d %s", p.Status, p.Body)
		}
	})
	t.Run("M2M app cannot start a user sign-in", func(t *testing.T) {
		u := strings.Replace(e.authURL(authParams{}), "client_id="+webAppID, "client_id="+m2mAppID, 1)
		if p := e.browser().get(u); p.Status != http.StatusBadRequest {
			t.Fatalf("%d", p.Status)
		}
	})
	t.Run("unknown resource is invalid_target back at the app", func(t *testing.T) {
		loc := e.browser().get(e.authURL(authParams{extra: url.Values{"resource": {"https://api.example"}}})).Redirect(t)
		q := loc.Query()
		if q.Get("error") != "invalid_target" || q.Get("state") != "st4te" || q.Get("iss") != e.url+"/oidc" {
			t.Fatalf("%s", loc)
		}
	})
	t.Run("cancel returns access_denied", func(t *testing.T) {
		b := e.browser()
		login := b.get(e.authURL(authParams{}))
		cancel := login.Doc.Find(`a[data-testid="cancel"]`).AttrOr("href", "")
		loc := b.get(e.url + cancel).Redirect(t)
		q := loc.Query()
		if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "st4te" || q.Get("iss") == "" {
			t.Fatalf("%s", loc)
		}
		if err := callbackErr(loc); err == nil || !strings.HasPrefix(err.Error(), "access_denied") {
			t.Fatalf("SDK callback error %v", err)
		}
	})
}

func callbackErr(loc *url.URL) error {
	_, err := core.VerifyAndParseCodeFromCallbackUri(loc.String(), redirectURI, "st4te")
	return err
}

func TestCodeExchangeFailures(t *testing.T) {
	t.Parallel()
	verifier := core.GenerateCodeVerifier()
	challenge := core.GenerateCodeChallenge(verifier)
	e := newEnv(t, nil)

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		code := e.code(authParams{challenge: challenge})
		status, _, body := e.exchange(code, core.GenerateCodeVerifier())
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if status, _, body := e.exchange(code, verifier); status != http.StatusOK {
			t.Fatalf("a failed PKCE check consumed the code: %d %s", status, body)
		}
	})
	t.Run("reused code revokes what it issued", func(t *testing.T) {
		code := e.code(authParams{})
		status, first, body := e.exchange(code, "")
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		status, _, body = e.exchange(code, "")
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if _, err := core.FetchUserInfo(e.url+"/oidc/me", first.AccessToken); err == nil {
			t.Fatal("access token from a replayed code still works")
		}
		status, _, body = e.refresh(*first.RefreshToken)
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("expired code", func(t *testing.T) {
		code := e.code(authParams{})
		e.clock.Advance(61 * time.Second)
		status, _, body := e.exchange(code, "")
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("mismatched redirect_uri", func(t *testing.T) {
		code := e.code(authParams{})
		status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"http://app.test/other"}}, webAppID, webAppSecret)
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("bad client secret", func(t *testing.T) {
		code := e.code(authParams{})
		status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, webAppID, "wrong")
		wantOIDCError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("body client_id must match Basic user", func(t *testing.T) {
		status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"other"},
			"refresh_token": {"x"}}, webAppID, webAppSecret)
		wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_request")
	})
	t.Run("client_secret_post is accepted", func(t *testing.T) {
		code := e.code(authParams{})
		status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "client_id": {webAppID}, "client_secret": {webAppSecret}}, "", "")
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		want := []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}
		if got := topKeys(t, body); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("token response keys %v", got)
		}
	})
}

func TestNoRefreshTokenWithoutConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	status, tr, body := e.exchange(e.code(authParams{prompt: "login"}), "")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if tr.RefreshToken != nil || strings.Contains(tr.Scope, "offline_access") {
		t.Fatalf("prompt without consent still granted offline_access: %s", body)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := *e.signedIn().RefreshToken
	e.clock.Advance(time.Hour)
	status, tr, body := e.refresh(first)
	if status != http.StatusOK || tr.RefreshToken == nil || *tr.RefreshToken != first || tr.IDToken == "" {
		t.Fatalf("young token: want the same refresh_token echoed back: %d %s", status, body)
	}
	// 70% of 14 days after issue, a confidential client's token rotates.
	e.clock.Advance(14*24*time.Hour*7/10 - time.Hour)
	status, tr, body = e.refresh(first)
	if status != http.StatusOK || *tr.RefreshToken == first {
		t.Fatalf("no rotation at 70%%: %d %s", status, body)
	}
	second := *tr.RefreshToken
	status, _, body = e.refresh(first)
	wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	status, _, body = e.refresh(second)
	wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant") // whole grant revoked
}

func TestRotateRefreshTokenAlways(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RotateRefreshTokenAlways = true })
	token := *e.signedIn().RefreshToken
	for range 3 {
		status, tr, body := e.refresh(token)
		if status != http.StatusOK || *tr.RefreshToken == token {
			t.Fatalf("no rotation: %d %s", status, body)
		}
		token = *tr.RefreshToken
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tr := e.signedIn()
	status, body := e.postForm("/oidc/token/revocation", url.Values{"client_id": {webAppID}, "token": {*tr.RefreshToken}}, "", "")
	wantOIDCError(t, status, body, http.StatusUnauthorized, "invalid_client")
	status, body = e.postForm("/oidc/token/revocation", url.Values{"token": {*tr.RefreshToken}}, webAppID, webAppSecret)
	if status != http.StatusOK || len(body) != 0 {
		t.Fatalf("revocation: %d %q", status, body)
	}
	status, _, body = e.refresh(*tr.RefreshToken)
	wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if _, err := core.FetchUserInfo(e.url+"/oidc/me", tr.AccessToken); err == nil {
		t.Fatal("access token of a revoked grant still works")
	}
}

func TestEndSessionUnregisteredURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := e.browser().get(e.url + "/oidc/session/end?client_id=" + webAppID + "&post_logout_redirect_uri=http://evil.test/")
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "post_logout_redirect_uri not registered") {
		t.Fatalf("%d %s", p.Status, p.Body)
	}
}

func TestHostedPageErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, page, email, password, userName string
		status                                int
		message                               string
	}{
		{"wrong password", "sign-in", seedEmail, "wrong-password", "", http.StatusUnauthorized, "Wrong email or password"},
		{"unknown email", "sign-in", "nobody@example.com", seedPassword, "", http.StatusUnauthorized, "Wrong email or password"},
		{"duplicate email (case-insensitive)", "register", "ADA@example.com", "long-enough", "Ada Two", http.StatusConflict, "An account with this email already exists"},
		{"short password", "register", "new@example.com", "short", "New", http.StatusUnprocessableEntity, "Password must be at least 8 characters"},
		{"bad email", "register", "not-an-email", "long-enough", "New", http.StatusBadRequest, "valid email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			params := authParams{}
			if tc.page == "register" {
				params.extra = url.Values{"first_screen": {"register"}}
			}
			form := b.get(e.authURL(params))
			fields := map[string]string{"email": tc.email, "password": tc.password}
			if tc.page == "register" {
				fields["name"] = tc.userName
			}
			p := b.submit(form, fields)
			if p.Status != tc.status || !strings.Contains(p.Doc.Find(`[data-testid="form-error"]`).Text(), tc.message) {
				t.Fatalf("status %d, error %q", p.Status, p.Doc.Find(`[data-testid="form-error"]`).Text())
			}
			if p.Doc.Find(`input[name="email"]`).AttrOr("value", "") != tc.email ||
				p.Doc.Find(`input[name="password"]`).AttrOr("value", "") != "" {
				t.Error("the form must keep the email and drop the password")
			}
			if tc.page == "register" && p.Doc.Find(`input[name="name"]`).AttrOr("value", "") != tc.userName {
				t.Error("the form must keep the name")
			}
		})
	}
}

func TestRegistrationScreens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, extra := range []url.Values{{"first_screen": {"register"}}, {"interaction_mode": {"signUp"}}} {
		p := e.browser().get(e.authURL(authParams{extra: extra}))
		if p.Doc.Find(`[data-testid="register-form"] input[name="name"]`).Length() != 1 {
			t.Fatalf("%v: no registration form", extra)
		}
	}
	b := e.browser()
	form := b.get(e.authURL(authParams{extra: url.Values{"first_screen": {"register"}}}))
	loc := b.submit(form, map[string]string{"name": "Grace", "email": "grace@example.com", "password": "long-enough"}).Redirect(t)
	status, tr, body := e.exchange(loc.Query().Get("code"), "")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	claims, _ := core.DecodeIdToken(tr.IDToken)
	u, ok := e.srv.UserByEmail("GRACE@example.com")
	if !ok || claims.Sub != u.ID || claims.Name != "Grace" || len(u.ID) != 12 || u.ApplicationID != webAppID {
		t.Fatalf("registered user %+v, claims %+v", u, claims)
	}
}

func TestSuspendedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tr := e.signedIn()
	u, _ := e.srv.UserByEmail(seedEmail)
	if resp, body := e.api(http.MethodPatch, "/api/users/"+u.ID+"/is-suspended", e.m2mToken(), map[string]bool{"isSuspended": true}); resp.StatusCode != http.StatusOK {
		t.Fatalf("suspend: %d %s", resp.StatusCode, body)
	}
	status, _, body := e.refresh(*tr.RefreshToken)
	wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	b := e.browser()
	p := b.submit(b.get(e.authURL(authParams{})), map[string]string{"email": seedEmail, "password": seedPassword})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Doc.Find(`[data-testid="form-error"]`).Text(), "suspended") {
		t.Fatalf("suspended sign-in: %d %s", p.Status, p.Body)
	}
}
