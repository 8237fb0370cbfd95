package logto

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// managementResource is the Management API's resource indicator; OSS
// Logto's tenant id is "default" even on your own domain.
const managementResource = "https://default.logto.app/api"

// supportedScopes are the user scopes Logto knows; others
// are dropped silently, as oidc-provider does.
var supportedScopes = []string{
	"openid", "offline_access", "profile", "email", "phone", "address",
	"custom_data", "identities", "roles",
	"urn:logto:scope:organizations", "urn:logto:scope:organization_roles",
}

// interaction is a pending authorization request, waiting for the person
// to sign in or register on the hosted pages.
type interaction struct {
	ID            string
	JTI           string // reported as sessionId in webhooks
	ClientID      string
	RedirectURI   string
	State         string
	Scopes        []string
	CodeChallenge string
	Register      bool // first screen is registration
	LoginHint     string
	ExpiresAt     time.Time
}

// authCode is an issued authorization code.
type authCode struct {
	ClientID      string
	RedirectURI   string
	UserID        string
	SessionID     string
	Scopes        []string
	CodeChallenge string
	ExpiresAt     time.Time
	Consumed      bool
	GrantID       string // set once exchanged, so reuse can revoke it
}

// grant is what a code exchange creates: one user's authorization of one
// client, with the tokens issued under it.
type grant struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"clientId"`
	UserID    string    `json:"userId"`
	SessionID string    `json:"sessionId"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// offline reports whether the grant survives end-session: grants with
// offline_access are "persistsLogout" in oidc-provider.
func (g *grant) offline() bool { return slices.Contains(g.Scopes, "offline_access") }

type refreshToken struct {
	Value      string    `json:"value"`
	GrantID    string    `json:"grantId"`
	IssuedAt   time.Time `json:"issuedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	ChainStart time.Time `json:"chainStart"` // first token of a rotation chain
	Consumed   bool      `json:"consumed"`
}

type accessToken struct {
	Value     string    `json:"value"`
	GrantID   string    `json:"grantId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// revokeGrant removes a grant and every token issued under it.
func (st *state) revokeGrant(id string) {
	st.grants.del(id)
	for k, t := range st.refresh.m {
		if t.GrantID == id {
			st.refresh.del(k)
		}
	}
	for k, t := range st.access.m {
		if t.GrantID == id {
			st.access.del(k)
		}
	}
}

// revokeUser signs a user out everywhere: Logto does this on deletion and
// suspension.
func (st *state) revokeUser(userID string) {
	for id, g := range st.grants.m {
		if g.UserID == userID {
			st.revokeGrant(id)
		}
	}
	for id, x := range st.sessions.m {
		if x.UserID == userID {
			st.sessions.del(id)
		}
	}
}

// discovery serves the OpenID configuration, encoded once in New.
func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSONBody(w, http.StatusOK, s.discoveryJSON)
}

// discoveryDocument is Logto's OpenID configuration for issuer i.
func discoveryDocument(i string) object {
	return object{
		{"authorization_endpoint", i + "/auth"},
		{"device_authorization_endpoint", i + "/device/auth"},
		{"claims_parameter_supported", false},
		{"claims_supported", []string{"sub", "name", "picture", "username", "email", "email_verified",
			"phone_number", "phone_number_verified", "custom_data", "identities", "roles",
			"organizations", "organization_roles", "created_at", "updated_at", "sid", "auth_time", "iss"}},
		{"code_challenge_methods_supported", []string{"S256"}},
		{"end_session_endpoint", i + "/session/end"},
		{"grant_types_supported", []string{"implicit", "authorization_code", "refresh_token",
			"client_credentials", "urn:ietf:params:oauth:grant-type:device_code",
			"urn:ietf:params:oauth:grant-type:token-exchange"}},
		{"issuer", i},
		{"jwks_uri", i + "/jwks"},
		{"authorization_response_iss_parameter_supported", true},
		{"response_modes_supported", []string{"form_post", "fragment", "query"}},
		{"response_types_supported", []string{"code id_token", "code", "id_token", "none"}},
		{"scopes_supported", supportedScopes},
		{"subject_types_supported", []string{"public"}},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_jwt",
			"client_secret_post", "private_key_jwt", "none"}},
		{"token_endpoint_auth_signing_alg_values_supported", []string{"HS256", "RS256", "PS256", "ES256", "EdDSA"}},
		{"token_endpoint", i + "/token"},
		{"id_token_signing_alg_values_supported", []string{"RS256", "PS256", "ES256", "ES384", "ES512"}},
		{"pushed_authorization_request_endpoint", i + "/request"},
		{"request_parameter_supported", false},
		{"request_uri_parameter_supported", false},
		{"userinfo_endpoint", i + "/me"},
		{"introspection_endpoint", i + "/token/introspection"},
		{"revocation_endpoint", i + "/token/revocation"},
		{"backchannel_logout_supported", true},
		{"backchannel_logout_session_supported", true},
		{"frontchannel_logout_supported", false},
		{"claim_types_supported", []string{"normal"}},
	}
}

// authorize is GET/POST /oidc/auth.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := requestParams(r)
	app, ok := s.apps[q.Get("client_id")]
	if !ok || app.Type != AppTraditional {
		// Without a trustworthy redirect_uri the error cannot go back to the
		// client; oidc-provider renders an error page instead.
		s.renderError(w, r, http.StatusBadRequest, "invalid_client", "Unknown application",
			"client_id does not belong to a registered web application.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(app.RedirectURIs, redirectURI) {
		s.renderError(w, r, http.StatusBadRequest, "invalid_redirect_uri", "Redirect URI not registered",
			"redirect_uri did not match any of the client's registered redirect_uris.")
		return
	}
	state := q.Get("state")
	fail := func(code, description string) {
		http.Redirect(w, r, s.callbackURL(redirectURI, url.Values{
			"error": {code}, "error_description": {description}, "state": {state}}), http.StatusSeeOther)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "unsupported response_type requested")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "not supported value of code_challenge_method")
		return
	}
	for _, res := range q["resource"] {
		// This tenant registers no API resource for user sign-in; every
		// resource is unknown → invalid_target.
		fail("invalid_target", "resource indicator is missing, or unknown: "+res)
		return
	}
	prompt := strings.Fields(q.Get("prompt"))
	in := &interaction{
		ID: randomString(urlAlphabet, 21), JTI: randomString(urlAlphabet, 21),
		ClientID: app.ID, RedirectURI: redirectURI, State: state, CodeChallenge: challenge,
		Scopes:    grantedScopes(q.Get("scope"), slices.Contains(prompt, "consent")),
		Register:  q.Get("first_screen") == "register" || q.Get("interaction_mode") == "signUp",
		LoginHint: q.Get("login_hint"),
		ExpiresAt: s.now().Add(interactionTTL),
	}
	if sess := s.currentSession(r); sess != nil && !slices.Contains(prompt, "login") {
		// A first-party app auto-consents: an existing Logto session gets a
		// code without any page.
		s.finish(w, r, in, sess)
		return
	}
	if slices.Contains(prompt, "none") {
		fail("login_required", "End-User authentication is required")
		return
	}
	s.mu.Lock()
	s.st.interactions[in.ID] = in
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: interactionCookie, Value: in.ID, Path: "/",
		MaxAge: int(interactionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	page := "/sign-in"
	if in.Register {
		page = "/register"
	}
	http.Redirect(w, r, page+"?interaction="+in.ID, http.StatusSeeOther)
}

// grantedScopes keeps known scopes in request order, without duplicates.
// oidc-provider drops offline_access unless prompt includes consent
// (check_scope.js) — load-bearing for refresh tokens.
func grantedScopes(scope string, consent bool) []string {
	var out []string
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(supportedScopes, sc) || slices.Contains(out, sc) {
			continue
		}
		if sc == "offline_access" && !consent {
			continue
		}
		out = append(out, sc)
	}
	return out
}

// callbackURL appends params and Logto's `iss` to a redirect URI
// (authorization_response_iss_parameter_supported).
func (s *Server) callbackURL(redirectURI string, params url.Values) string {
	params.Set("iss", s.issuer)
	if params.Get("state") == "" {
		params.Del("state")
	}
	return appendQuery(redirectURI, params)
}

// appendQuery adds params to uri, which may already have a query.
func appendQuery(uri string, params url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + params.Encode()
}

// finish completes an interaction for a signed-in session: it issues a
// code and redirects back to the client.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, in *interaction, sess *session) {
	code := opaqueToken()
	s.mu.Lock()
	delete(s.st.interactions, in.ID)
	s.st.codes[code] = &authCode{
		ClientID: in.ClientID, RedirectURI: in.RedirectURI, UserID: sess.UserID, SessionID: sess.ID,
		Scopes: in.Scopes, CodeChallenge: in.CodeChallenge, ExpiresAt: s.now().Add(s.cfg.CodeTTL),
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: interactionCookie, Path: "/", MaxAge: -1})
	http.Redirect(w, r, s.callbackURL(in.RedirectURI, url.Values{"code": {code}, "state": {in.State}}), http.StatusSeeOther)
}

// verifyPKCE checks an S256 code_verifier against its challenge.
func verifyPKCE(challenge, verifier string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
