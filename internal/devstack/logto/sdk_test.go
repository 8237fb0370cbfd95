package logto

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/logto-io/go/v2/client"
	"github.com/logto-io/go/v2/core"
)

func newSDK(e *env, storage client.Storage) *client.LogtoClient {
	return client.NewLogtoClient(&client.LogtoConfig{
		Endpoint: e.url, AppId: webAppID, AppSecret: webAppSecret,
		Scopes: []string{"openid", "offline_access", "profile", "email"},
	}, storage)
}

// TestSDKFullFlow drives the real Logto Go SDK v2.0.0 through sign-in,
// claims, userinfo, refresh and sign-out against the stand-in.
func TestSDKFullFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AccessTokenTTL = 30 * time.Second })
	storage := &memStorage{}
	sdk := newSDK(e, storage)
	authURL, err := sdk.SignIn(&client.SignInOptions{RedirectUri: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(authURL, "scope=openid offline_access profile email") {
		t.Fatalf("expected the SDK's unescaped URL, got %s", authURL)
	}
	b := e.browser()
	loc := b.signIn(authURL, seedEmail, seedPassword).Redirect(t)
	if loc.Query().Get("iss") != e.url+"/oidc" || loc.Query().Get("state") == "" {
		t.Fatalf("callback %s lacks iss/state", loc)
	}
	if err := sdk.HandleSignInCallback(callbackRequest(loc)); err != nil {
		t.Fatalf("HandleSignInCallback: %v", err)
	}
	if !sdk.IsAuthenticated() {
		t.Fatal("not authenticated after callback")
	}
	user, _ := e.srv.UserByEmail(seedEmail)
	claims, err := sdk.GetIdTokenClaims()
	if err != nil {
		t.Fatal(err)
	}
	if claims.Sub != user.ID || claims.Name != seedName || claims.Email != seedEmail || !claims.EmailVerified ||
		claims.Aud != webAppID || claims.Iss != e.url+"/oidc" || claims.AtHash == "" {
		t.Fatalf("claims %+v", claims)
	}
	info, err := sdk.FetchUserInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Sub != user.ID || info.Name != seedName || info.Email != seedEmail {
		t.Fatalf("userinfo %+v", info)
	}
	if storage.GetItem(client.StorageKeyRefreshToken) == "" {
		t.Fatal("no refresh token stored (prompt=consent should grant offline_access)")
	}

	// Move past the access token's expiry: the stand-in rejects the old
	// token; the SDK's own cache runs on the real clock, so expire it there.
	old, err := sdk.GetAccessToken("")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Second)
	if _, err := core.FetchUserInfo(e.url+"/oidc/me", old.Token); err == nil {
		t.Fatal("expired access token still accepted by /oidc/me")
	}
	sdk.SaveAccessToken("@", client.AccessToken{Token: old.Token, Scope: old.Scope, ExpiresAt: time.Now().Unix() - 1})
	fresh, err := sdk.GetAccessToken("")
	if err != nil {
		t.Fatalf("refresh through the SDK: %v", err)
	}
	if fresh.Token == old.Token || len(fresh.Token) != 43 {
		t.Fatalf("refresh returned %q", fresh.Token)
	}
	if info, err := sdk.FetchUserInfo(); err != nil || info.Sub != user.ID {
		t.Fatalf("userinfo after refresh: %+v %v", info, err)
	}

	refreshToken := sdk.GetRefreshToken()
	signOutURL, err := sdk.SignOut(postLogoutURI)
	if err != nil {
		t.Fatal(err)
	}
	if sdk.IsAuthenticated() {
		t.Fatal("still authenticated after SignOut")
	}
	// The SDK's revocation carried no client auth and failed silently, so
	// the refresh token still works.
	if status, _, body := e.refresh(refreshToken); status != http.StatusOK {
		t.Fatalf("refresh token died on SignOut: %d %s", status, body)
	}
	end := b.get(signOutURL)
	if end.Status != http.StatusOK || end.Doc.Find(`form[action$="/oidc/session/end/confirm"]`).Length() != 1 ||
		end.Doc.Find("script").Length() == 0 {
		t.Fatalf("end-session page: %d\n%s", end.Status, end.Body)
	}
	if got := b.submit(end, map[string]string{"logout": "yes"}).Redirect(t).String(); got != postLogoutURI {
		t.Fatalf("end-session returned to %s", got)
	}
	// The Logto session is gone: the next sign-in shows the form again.
	again, _ := sdk.SignIn(&client.SignInOptions{RedirectUri: redirectURI})
	if p := b.get(again); p.Doc.Find(`[data-testid="sign-in-form"]`).Length() != 1 {
		t.Fatalf("no sign-in form after end-session: %d at %s", p.Status, p.URL)
	}
	// End-session does not revoke offline_access grants.
	if status, _, body := e.refresh(refreshToken); status != http.StatusOK {
		t.Fatalf("refresh after end-session: %d %s", status, body)
	}
}

// TestCoreFunctions uses the SDK's core package directly.
func TestCoreFunctions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	hc := &http.Client{Timeout: 5 * time.Second}
	cfg, err := core.FetchOidcConfig(hc, e.url+"/oidc/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != e.url+"/oidc" || cfg.AuthorizationEndpoint != e.url+"/oidc/auth" || cfg.TokenEndpoint != e.url+"/oidc/token" ||
		cfg.UserinfoEndpoint != e.url+"/oidc/me" || cfg.JwksUri != e.url+"/oidc/jwks" ||
		cfg.EndSessionEndpoint != e.url+"/oidc/session/end" || cfg.RevocationEndpoint != e.url+"/oidc/token/revocation" {
		t.Fatalf("discovery %+v", cfg)
	}
	verifier := core.GenerateCodeVerifier()
	state := core.GenerateState()
	signInURL, err := core.GenerateSignInUri(&core.SignInUriGenerationOptions{
		AuthorizationEndpoint: cfg.AuthorizationEndpoint, ClientId: webAppID, RedirectUri: redirectURI,
		CodeChallenge: core.GenerateCodeChallenge(verifier), State: state,
		Identifiers: []string{"email"}, // sent as the unknown `identifiers`: ignored, like Logto
	})
	if err != nil {
		t.Fatal(err)
	}
	loc := e.browser().signIn(signInURL, seedEmail, seedPassword).Redirect(t)
	code, err := core.VerifyAndParseCodeFromCallbackUri(loc.String(), redirectURI, state)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := core.FetchTokenByAuthorizationCode(hc, &core.FetchTokenByAuthorizationCodeOptions{
		TokenEndpoint: cfg.TokenEndpoint, Code: code, CodeVerifier: verifier,
		ClientId: webAppID, ClientSecret: webAppSecret, RedirectUri: redirectURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tokens.Scope != "openid offline_access profile" || tokens.ExpireIn != 3600 || tokens.RefreshToken == "" {
		t.Fatalf("tokens %+v", tokens)
	}
	raw, err := core.FetchJwks(hc, cfg.JwksUri)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	data, _ := json.Marshal(raw)
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	if err := core.VerifyIdToken(tokens.IdToken, webAppID, cfg.Issuer, &set); err != nil {
		t.Fatalf("VerifyIdToken: %v", err)
	}
	user, _ := e.srv.UserByEmail(seedEmail)
	info, err := core.FetchUserInfo(cfg.UserinfoEndpoint, tokens.AccessToken)
	if err != nil || info.Sub != user.ID || info.Email != "" {
		t.Fatalf("userinfo without email scope: %+v %v", info, err)
	}
	refreshed, err := core.FetchTokenByRefreshToken(hc, &core.FetchTokenByRefreshTokenOptions{
		TokenEndpoint: cfg.TokenEndpoint, ClientId: webAppID, ClientSecret: webAppSecret, RefreshToken: tokens.RefreshToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.RefreshToken != tokens.RefreshToken {
		t.Fatal("a young refresh token of a confidential client rotated")
	}
	if err := core.VerifyIdToken(refreshed.IdToken, webAppID, cfg.Issuer, &set); err != nil {
		t.Fatalf("refreshed id token: %v", err)
	}
	// core.Revoke sends no client authentication: 401 for a confidential client.
	err = core.Revoke(hc, &core.RevocationOptions{RevocationEndpoint: cfg.RevocationEndpoint, ClientId: webAppID, Token: tokens.RefreshToken})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Revoke without client auth: %v", err)
	}
	out, err := core.GenerateSignOutUri(&core.SignOutUriGenerationOptions{
		EndSessionEndpoint: cfg.EndSessionEndpoint, ClientId: webAppID, PostLogoutRedirectUri: postLogoutURI})
	if err != nil {
		t.Fatal(err)
	}
	if p := e.browser().get(out); p.Status != http.StatusOK {
		t.Fatalf("end session: %d %s", p.Status, p.Body)
	}
}

// TestIDTokenClaims checks the raw claims Logto puts in ID tokens:
// string aud, null for unset profile fields, epoch-ms timestamps.
func TestIDTokenClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tr := e.signedIn()
	parts := strings.Split(tr.IDToken, ".")
	header, _ := decodeSegment(parts[0])
	payload, _ := decodeSegment(parts[1])
	var h map[string]string
	json.Unmarshal(header, &h)
	if h["alg"] != "ES384" || h["kid"] != e.srv.key.kid || len(h) != 2 {
		t.Fatalf("header %s", header)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	if _, isString := c["aud"].(string); !isString {
		t.Fatalf("aud is not a string: %s", payload)
	}
	for _, k := range []string{"picture", "username"} {
		if v, ok := c[k]; !ok || v != nil {
			t.Errorf("%s = %v, want JSON null", k, v)
		}
	}
	created, _ := c["created_at"].(float64)
	if created < 1e12 {
		t.Errorf("created_at %v is not epoch milliseconds", c["created_at"])
	}
	if c["email"] != seedEmail || c["email_verified"] != true || c["name"] != seedName {
		t.Errorf("profile/email claims: %s", payload)
	}
	exp, _ := c["exp"].(float64)
	iat, _ := c["iat"].(float64)
	if exp-iat != 3600 {
		t.Errorf("exp-iat = %v", exp-iat)
	}
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// TestSSOSession: an existing Logto session gets a code without a page,
// unless prompt=login forces the sign-in page.
func TestSSOSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(e.authURL(authParams{}), seedEmail, seedPassword).Redirect(t)
	direct := b.get(e.authURL(authParams{state: "second"}))
	loc := direct.Redirect(t)
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != "second" {
		t.Fatalf("SSO redirect %s", loc)
	}
	forced := b.get(e.authURL(authParams{prompt: "login consent"}))
	if forced.Status != http.StatusOK || forced.Doc.Find(`[data-testid="sign-in-form"]`).Length() != 1 {
		t.Fatalf("prompt=login: %d at %s", forced.Status, forced.URL)
	}
}

// TestAuthorizeQueryTolerance: the SDK's raw URL (literal spaces, a '+'
// that arrives as a space) parses as Logto reads it.
func TestAuthorizeQueryTolerance(t *testing.T) {
	t.Parallel()
	raw := "client_id=x&login_hint=user+tag@example.com&redirect_uri=http://app.test/callback&scope=openid offline_access&bad=%zz"
	q := parseQueryTolerant(raw)
	if q.Get("scope") != "openid offline_access" || q.Get("redirect_uri") != "http://app.test/callback" ||
		q.Get("login_hint") != "user tag@example.com" || q.Get("bad") != "%zz" {
		t.Fatalf("parsed %v", q)
	}
	e := newEnv(t, nil)
	u, _ := url.Parse(e.authURL(authParams{}))
	u.RawQuery = strings.ReplaceAll(u.RawQuery, "%3A%2F%2F", "://")
	u.RawQuery = strings.ReplaceAll(u.RawQuery, "%2F", "/")
	if p := e.browser().get(u.String()); p.Status != http.StatusOK {
		t.Fatalf("unescaped ':' and '/' refused: %d %s", p.Status, p.Body)
	}
}
