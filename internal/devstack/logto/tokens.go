package logto

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxRefreshChain is the total lifetime after which Logto stops rotating
// refresh tokens (oidc/init.ts rotateRefreshToken).
const maxRefreshChain = 365 * 24 * time.Hour

// token is POST /oidc/token: authorization code, refresh token and
// client credentials (M2M) grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	app, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	gt := r.PostForm.Get("grant_type")
	want := AppTraditional
	switch gt {
	case "authorization_code", "refresh_token":
	case "client_credentials":
		want = AppMachineToMachine
	case "":
		s.oidcError(w, http.StatusBadRequest, "invalid_request", "missing required parameter 'grant_type'")
		return
	default:
		s.oidcError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type requested")
		return
	}
	if app.Type != want {
		s.oidcError(w, http.StatusBadRequest, "unauthorized_client", "requested grant type is not allowed for this client")
		return
	}
	switch gt {
	case "authorization_code":
		s.codeGrant(w, r.PostForm, app)
	case "refresh_token":
		s.refreshGrant(w, r.PostForm, app)
	default:
		s.clientCredentialsGrant(w, r.PostForm, app)
	}
}

// authenticateClient accepts client_secret_basic (what Logto registers
// for web and M2M apps) and client_secret_post, which the engine also
// takes when a secret is presented. It parses the form,
// answers any error itself and reports false on failure.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request) (App, bool) {
	if err := r.ParseForm(); err != nil {
		s.oidcError(w, http.StatusBadRequest, "invalid_request", "invalid form body")
		return App{}, false
	}
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// The Basic user and password are form-URL-decoded, as Logto does.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			s.oidcError(w, http.StatusBadRequest, "invalid_request", "client_id and client_secret in the authorization header are not properly encoded")
			return App{}, false
		}
		if form.Get("client_secret") != "" {
			s.oidcError(w, http.StatusBadRequest, "invalid_request", "client authentication must only be provided using one mechanism")
			return App{}, false
		}
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
			s.oidcError(w, http.StatusBadRequest, "invalid_request", "mismatch in body and authorization client ids")
			return App{}, false
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		s.oidcError(w, http.StatusBadRequest, "invalid_request", "no client authentication mechanism provided")
		return App{}, false
	}
	app, ok := s.apps[id]
	// A confidential client presenting no secret fails here too: that is
	// the SDK's SignOut revocation request, which sends only client_id.
	if !ok || secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		s.oidcError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return App{}, false
	}
	return app, true
}

func (s *Server) codeGrant(w http.ResponseWriter, form url.Values, app App) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.codes[form.Get("code")]
	switch {
	case !ok:
		s.grantError(w, "authorization code not found")
		return
	case !now.Before(c.ExpiresAt):
		s.grantError(w, "authorization code is expired")
		return
	case c.CodeChallenge != "" && !verifyPKCE(c.CodeChallenge, form.Get("code_verifier")):
		s.grantError(w, "PKCE verification failed")
		return
	case c.CodeChallenge == "" && form.Get("code_verifier") != "":
		s.grantError(w, "code_verifier provided but no code_challenge was sent in the authorization request")
		return
	case c.ClientID != app.ID:
		s.grantError(w, "client mismatch")
		return
	case c.RedirectURI != form.Get("redirect_uri"):
		s.grantError(w, "authorization code redirect_uri mismatch")
		return
	case c.Consumed:
		// Code replay revokes everything issued from the code, as
		// oidc-provider does.
		if c.GrantID != "" {
			s.st.revokeGrant(c.GrantID)
			s.persist()
		}
		s.grantError(w, "authorization code already consumed")
		return
	}
	c.Consumed = true
	a, reason := s.activeAccountLocked(c.UserID)
	if a == nil {
		s.grantError(w, reason)
		return
	}
	g := &grant{ID: randomString(urlAlphabet, 21), ClientID: app.ID, UserID: a.ID, SessionID: c.SessionID,
		Scopes: c.Scopes, ExpiresAt: now.Add(grantTTL)}
	s.st.grants.set(g.ID, g)
	c.GrantID = g.ID
	var rt *refreshToken
	// Logto issues a refresh token only when offline_access was granted.
	if g.offline() {
		rt = s.newRefreshTokenLocked(g, now, now)
	}
	s.respondTokensLocked(w, g, a.public(), rt, true)
}

func (s *Server) refreshGrant(w http.ResponseWriter, form url.Values, app App) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.st.refresh.m[form.Get("refresh_token")]
	if !ok {
		s.grantError(w, "refresh token not found")
		return
	}
	if !now.Before(rt.ExpiresAt) {
		s.grantError(w, "refresh token is expired")
		return
	}
	g, ok := s.st.grants.m[rt.GrantID]
	switch {
	case !ok:
		s.grantError(w, "grant not found")
		return
	case g.ClientID != app.ID:
		s.grantError(w, "client mismatch")
		return
	case rt.Consumed:
		// Reuse of a rotated token: revoke the whole grant (Logto
		// grants/refresh-token.ts).
		s.st.revokeGrant(g.ID)
		s.persist()
		s.grantError(w, "refresh token already used")
		return
	}
	if res := form.Get("resource"); res != "" {
		s.oidcError(w, http.StatusBadRequest, "invalid_target", "resource indicator is missing, or unknown")
		return
	}
	for _, sc := range strings.Fields(form.Get("scope")) {
		if !slices.Contains(g.Scopes, sc) {
			s.oidcError(w, http.StatusBadRequest, "invalid_scope", "refresh token missing requested scope")
			return
		}
	}
	a, reason := s.activeAccountLocked(g.UserID)
	if a == nil {
		s.grantError(w, reason)
		return
	}
	if s.shouldRotate(rt, now) {
		used := *rt // replaced, not changed in place: a compaction may be writing it
		used.Consumed = true
		s.st.refresh.set(rt.Value, &used)
		rt = s.newRefreshTokenLocked(g, now, rt.ChainStart)
	}
	s.respondTokensLocked(w, g, a.public(), rt, false)
}

// shouldRotate applies Logto's rule for a confidential client: rotate once
// 70% of the token's lifetime has passed, never after a year of chain
// lifetime — or always when configured.
func (s *Server) shouldRotate(rt *refreshToken, now time.Time) bool {
	if now.Sub(rt.ChainStart) >= maxRefreshChain {
		return false
	}
	if s.cfg.RotateRefreshTokenAlways {
		return true
	}
	ttl := rt.ExpiresAt.Sub(rt.IssuedAt)
	return now.Sub(rt.IssuedAt)*10 >= ttl*7
}

func (s *Server) newRefreshTokenLocked(g *grant, now, chainStart time.Time) *refreshToken {
	exp := now.Add(s.cfg.RefreshTokenTTL)
	if exp.After(g.ExpiresAt) {
		exp = g.ExpiresAt
	}
	rt := &refreshToken{Value: opaqueToken(), GrantID: g.ID, IssuedAt: now, ExpiresAt: exp, ChainStart: chainStart}
	s.st.refresh.set(rt.Value, rt)
	return rt
}

// activeAccountLocked returns the grant's user unless deleted or
// suspended; both are invalid_grant.
func (s *Server) activeAccountLocked(id string) (*account, string) {
	a, ok := s.st.accounts.m[id]
	switch {
	case !ok:
		return nil, "user not found"
	case a.IsSuspended:
		return nil, "user is suspended"
	}
	return a, ""
}

// respondTokensLocked issues an access token (and an ID token when openid
// was granted) and writes the token response. The refresh token, when
// the grant has one, is always included — unchanged if not rotated — as
// the SDK overwrites its copy with whatever comes back, even "".
func (s *Server) respondTokensLocked(w http.ResponseWriter, g *grant, u User, rt *refreshToken, codeGrant bool) {
	now := s.now()
	at := &accessToken{Value: opaqueToken(), GrantID: g.ID, ExpiresAt: now.Add(s.cfg.AccessTokenTTL)}
	s.st.access.set(at.Value, at)
	resp := object{
		{"access_token", at.Value},
		{"expires_in", int64(s.cfg.AccessTokenTTL / time.Second)},
		{"id_token", omitted{}},
		{"refresh_token", omitted{}},
		{"scope", strings.Join(g.Scopes, " ")},
		{"token_type", "Bearer"},
	}
	if slices.Contains(g.Scopes, "openid") {
		idToken, err := s.idToken(g, u, now, at.Value, codeGrant)
		if err != nil {
			s.serverError(w, "sign id token", err)
			return
		}
		resp[2].value = idToken
	}
	if rt != nil {
		resp[3].value = rt.Value
	}
	s.persist()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) clientCredentialsGrant(w http.ResponseWriter, form url.Values, app App) {
	resource := form.Get("resource")
	if resource != managementResource {
		s.oidcError(w, http.StatusBadRequest, "invalid_target", "resource indicator is missing, or unknown")
		return
	}
	scopes := strings.Fields(form.Get("scope"))
	for _, sc := range scopes {
		if sc != "all" {
			s.oidcError(w, http.StatusBadRequest, "invalid_scope", "requested scope is not allowed")
			return
		}
	}
	now := s.now()
	scope := strings.Join(scopes, " ")
	token, err := signJWT(s.key.atSign, object{
		{"jti", opaqueToken()}, {"sub", app.ID}, {"iat", now.Unix()},
		{"exp", now.Add(s.cfg.AccessTokenTTL).Unix()}, {"scope", optional(scope)},
		{"client_id", app.ID}, {"iss", s.issuer}, {"aud", resource},
	})
	if err != nil {
		s.serverError(w, "sign access token", err)
		return
	}
	writeJSON(w, http.StatusOK, object{
		{"access_token", token},
		{"expires_in", int64(s.cfg.AccessTokenTTL / time.Second)},
		{"token_type", "Bearer"},
		{"scope", optional(scope)},
	})
}

// revoke is POST /oidc/token/revocation.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	app, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		s.oidcError(w, http.StatusBadRequest, "invalid_request", "missing required parameter 'token'")
		return
	}
	s.mu.Lock()
	if rt, ok := s.st.refresh.m[token]; ok {
		// Revoking a refresh token ends its grant and the access tokens
		// issued under it (RFC 7009, section 2.1).
		if g, ok := s.st.grants.m[rt.GrantID]; ok && g.ClientID == app.ID {
			s.st.revokeGrant(g.ID)
		}
	} else if at, ok := s.st.access.m[token]; ok {
		if g, ok := s.st.grants.m[at.GrantID]; ok && g.ClientID == app.ID {
			s.st.access.del(token)
		}
	}
	s.persist()
	s.mu.Unlock()
	// Unknown tokens also get 200 with an empty body (RFC 7009, section 2.2).
	w.WriteHeader(http.StatusOK)
}

// userinfo is GET/POST /oidc/me with an opaque access token; a JWT
// (resource) access token is rejected.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		s.oidcError(w, http.StatusBadRequest, "invalid_request", "no access token provided")
		return
	}
	s.mu.Lock()
	var claims object
	at, ok := s.st.access.m[token]
	if ok && s.now().Before(at.ExpiresAt) {
		if g, found := s.st.grants.m[at.GrantID]; found {
			if a, _ := s.activeAccountLocked(g.UserID); a != nil {
				claims = userClaims(a.public(), g.Scopes, true)
			}
		}
	}
	s.mu.Unlock()
	if claims == nil {
		s.oidcError(w, http.StatusUnauthorized, "invalid_token", "invalid token provided")
		return
	}
	writeJSON(w, http.StatusOK, claims)
}
