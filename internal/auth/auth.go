// Package auth signs people in with Logto through the official Go SDK
// (github.com/logto-io/go/v2) and wraps the gaps of its v2.0.0 release that
// a production app cannot live with:
//
//   - network steps go through the SDK's core functions with our own
//     *http.Client, so every Logto call has a deadline (the client package
//     uses an unexported http.Client without a timeout);
//   - a LogtoClient is built per request from a private copy of the config,
//     because NewLogtoClient mutates the config it is given;
//   - ID-token expiry is honoured (IsAuthenticated ignores it), refreshing
//     at most once at a time per grant so Logto's refresh-token rotation never
//     sees a reused token;
//   - sign-out revokes the refresh token with client authentication, which
//     the SDK omits, before sending the browser to end-session;
//   - discovery and JWKS are cached instead of fetched on every call, and
//     concurrent callers share one fetch, so a hung Logto costs each of
//     them one Timeout at most, not one each in turn.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/logto-io/go/v2/client"
	"github.com/logto-io/go/v2/core"
	"golang.org/x/sync/singleflight"

	"reportgate/internal/fault"
)

// Errors callers map to responses.
var (
	// ErrUnavailable: Logto could not be reached or answered unexpectedly (502).
	ErrUnavailable = fmt.Errorf("logto %w", fault.Unavailable)
	// ErrBadCallback: a callback that does not belong to a sign-in in
	// progress (state mismatch, replay, tampered or expired code) (400).
	ErrBadCallback = fmt.Errorf("%w sign-in callback", fault.Invalid)
	// ErrSignedOut: no valid sign-in in this session (or it ended at Logto).
	ErrSignedOut = errors.New("not signed in")
)

// CallbackError is Logto sending the person back with ?error=… (for
// example access_denied when they cancelled).
type CallbackError struct {
	Code        string
	Description string
}

func (e *CallbackError) Error() string {
	return fmt.Sprintf("sign-in callback error %s: %s", e.Code, e.Description)
}

func (e *CallbackError) Unwrap() error { return ErrBadCallback }

// Scopes the app asks for. offline_access gives a refresh token, which
// Logto only issues with prompt=consent (without it offline_access is dropped).
var defaultScopes = []string{core.ReservedScopeOpenId, core.ReservedScopeOfflineAccess, core.UserScopeProfile, core.UserScopeEmail}

// Config configures a Logto client.
type Config struct {
	Endpoint       string
	AppID          string
	AppSecret      string
	CallbackURL    string
	PostSignOutURL string
	// Timeout bounds each call to Logto.
	Timeout time.Duration
	// HTTPClient overrides the client used for Logto calls (tests); its
	// Timeout is set to Timeout when zero.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Identity is the signed-in person as the ID token describes them.
type Identity struct {
	Subject   string
	Name      string
	Email     string
	Username  string
	ExpiresAt time.Time
	// RegisteredAt is when the account was created at Logto (zero when the
	// token does not say).
	RegisteredAt time.Time
}

// Logto talks to one Logto tenant on behalf of one app.
type Logto struct {
	cfg    Config
	http   *http.Client
	now    func() time.Time
	sdkCfg client.LogtoConfig

	discovery fetched[core.OidcConfigResponse]
	jwks      fetched[*jose.JSONWebKeySet]

	refreshes singleflight.Group
	refreshMu sync.Mutex
	// refreshed remembers, for a short while, what a refresh token was
	// exchanged for, so a request that loaded the session before another
	// request's refresh was saved reuses that result instead of presenting
	// the consumed token again (which makes Logto revoke the grant).
	refreshed map[[32]byte]refreshResult

	// identities memoises identityFrom: decoding the ID token was over
	// half the cost of a signed-in page view, and a token's claims never
	// change, so nothing ever needs to be invalidated.
	identitiesMu sync.Mutex
	identities   map[string]Identity
}

// maxIdentities bounds the memo of decoded ID tokens (about 1 KB each);
// when full it is emptied, which costs only decoding again.
const maxIdentities = 4096

type refreshResult struct {
	tokens core.RefreshTokenResponse
	at     time.Time
	// verified is false for an answer whose ID token could not be checked
	// (the key set was unreachable). Logto has spent the old refresh token
	// by then, so the answer is kept for the next attempt to check rather
	// than presenting the spent token again, which revokes the grant.
	verified bool
}

const (
	discoveryTTL = 5 * time.Minute
	// reachableTTL is how long a successful discovery fetch vouches for
	// Logto being up when a sign-in starts: at most one fetch per this
	// long, bounded by Timeout, while sign-ins are being started.
	reachableTTL = 10 * time.Second
	// recentRefreshTTL is how long a refresh result is shared with
	// requests still holding the old refresh token.
	recentRefreshTTL = time.Minute
	// unverifiedRefreshTTL is how long an unchecked refresh answer waits
	// for the key set to be reachable again.
	unverifiedRefreshTTL = time.Hour
)

// New returns a Logto client for cfg.
func New(cfg Config) *Logto {
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	if httpClient.Timeout == 0 {
		c := *httpClient
		c.Timeout = cfg.Timeout
		httpClient = &c
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	include := true
	return &Logto{
		cfg:  cfg,
		http: httpClient,
		now:  now,
		sdkCfg: client.LogtoConfig{
			Endpoint:              cfg.Endpoint,
			AppId:                 cfg.AppID,
			AppSecret:             cfg.AppSecret,
			Scopes:                defaultScopes,
			Prompt:                core.PromptConsent,
			IncludeReservedScopes: &include,
		},
		discovery: fetched[core.OidcConfigResponse]{name: "discovery"},
		jwks:      fetched[*jose.JSONWebKeySet]{name: "jwks"},
		refreshed: map[[32]byte]refreshResult{},
	}
}

// Client builds the SDK client for one request over that request's
// session storage. The config is a private copy, slices included, because
// NewLogtoClient appends to them (a data race on a shared config).
func (l *Logto) Client(storage client.Storage) *client.LogtoClient {
	cfg := l.sdkCfg
	cfg.Scopes = slices.Clone(l.sdkCfg.Scopes)
	cfg.Resources = slices.Clone(l.sdkCfg.Resources)
	return client.NewLogtoClient(&cfg, storage)
}

// SignInOptions vary the hosted page Logto shows.
type SignInOptions struct {
	// Register opens the registration screen first.
	Register bool
}

// SignInURL starts a sign-in: it records PKCE verifier and state in
// storage and returns Logto's authorization URL.
// Logto must have answered within reachableTTL: the browser is about to be
// sent there, and a Logto that is down would leave it on a connection
// error instead of the app's own page saying so.
func (l *Logto) SignInURL(ctx context.Context, storage client.Storage, opts SignInOptions) (string, error) {
	oidc, err := l.oidcConfigWithin(ctx, reachableTTL)
	if err != nil {
		return "", err
	}
	verifier := core.GenerateCodeVerifier()
	signIn := client.SignInSession{
		RedirectUri:   l.cfg.CallbackURL,
		CodeVerifier:  verifier,
		CodeChallenge: core.GenerateCodeChallenge(verifier),
		State:         core.GenerateState(),
	}
	// The SDK's GenerateSignInUri un-escapes the query it built: scope
	// would carry literal spaces, which is not a valid
	// request line for non-browser clients. Same parameters, encoded.
	q := url.Values{
		"client_id":             {l.cfg.AppID},
		"redirect_uri":          {signIn.RedirectUri},
		"code_challenge":        {signIn.CodeChallenge},
		"code_challenge_method": {"S256"},
		"state":                 {signIn.State},
		"scope":                 {strings.Join(defaultScopes, " ")},
		"response_type":         {"code"},
		"prompt":                {core.PromptConsent},
	}
	if opts.Register {
		q.Set("first_screen", core.FirstScreenRegister)
	}
	raw, err := json.Marshal(signIn)
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	storage.SetItem(client.StorageKeySignInSession, string(raw))
	return oidc.AuthorizationEndpoint + "?" + q.Encode(), nil
}

// HandleCallback completes a sign-in from Logto's redirect: it checks the
// state, exchanges the code, verifies the ID token and stores the tokens.
// requestURI is the callback's path and query as received.
func (l *Logto) HandleCallback(ctx context.Context, storage client.Storage, requestURI string) (Identity, error) {
	var signIn client.SignInSession
	if raw := storage.GetItem(client.StorageKeySignInSession); raw == "" || json.Unmarshal([]byte(raw), &signIn) != nil {
		return Identity{}, fmt.Errorf("%w: no sign-in in progress in this session", ErrBadCallback)
	}
	callback, err := url.Parse(l.cfg.CallbackURL)
	if err != nil {
		return Identity{}, fmt.Errorf("callback URL: %w", err)
	}
	received, err := url.ParseRequestURI(requestURI)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	query := received.Query()
	// Checked before the state, as the SDK does; an error redirect carries
	// no code to misuse, and the page explains what happened.
	if code := query.Get("error"); code != "" {
		storage.SetItem(client.StorageKeySignInSession, "")
		return Identity{}, &CallbackError{Code: code, Description: query.Get("error_description")}
	}
	// Rebuilt from the configured base URL, not the Host header, so a proxy
	// or a different host name cannot break the SDK's redirect-URI prefix check.
	callback.RawQuery = received.RawQuery
	code, err := core.VerifyAndParseCodeFromCallbackUri(callback.String(), signIn.RedirectUri, signIn.State)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	oidc, err := l.oidcConfig(ctx)
	if err != nil {
		return Identity{}, err
	}
	tokens, err := core.FetchTokenByAuthorizationCode(l.http, &core.FetchTokenByAuthorizationCodeOptions{
		TokenEndpoint: oidc.TokenEndpoint,
		Code:          code,
		CodeVerifier:  signIn.CodeVerifier,
		ClientId:      l.cfg.AppID,
		ClientSecret:  l.cfg.AppSecret,
		RedirectUri:   signIn.RedirectUri,
	})
	if err != nil {
		return Identity{}, classifyTokenError("exchange code", err, ErrBadCallback)
	}
	// The code is spent either way; a second callback with it must fail.
	storage.SetItem(client.StorageKeySignInSession, "")
	if err := l.verifyIDToken(ctx, oidc, tokens.IdToken); err != nil {
		return Identity{}, err
	}
	l.store(storage, tokens)
	return identityFrom(tokens.IdToken)
}

// CurrentUser returns the signed-in person, refreshing the tokens when the
// ID token has expired. ErrSignedOut means the session holds no usable
// sign-in (never signed in, refresh token expired or revoked, user deleted
// or suspended at Logto).
func (l *Logto) CurrentUser(ctx context.Context, storage client.Storage) (Identity, error) {
	idToken := storage.GetItem(client.StorageKeyIdToken)
	if idToken == "" {
		return Identity{}, ErrSignedOut
	}
	who, err := l.identity(idToken)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrSignedOut, err)
	}
	// The SDK's IsAuthenticated only checks that an ID token is stored, not
	// its expiry.
	if l.now().Before(who.ExpiresAt) {
		return who, nil
	}
	refreshToken := storage.GetItem(client.StorageKeyRefreshToken)
	if refreshToken == "" {
		return Identity{}, ErrSignedOut
	}
	tokens, err := l.refresh(ctx, refreshToken)
	if err != nil {
		return Identity{}, err
	}
	l.store(storage, tokens)
	return l.identity(storage.GetItem(client.StorageKeyIdToken))
}

// identity is identityFrom, memoised.
func (l *Logto) identity(idToken string) (Identity, error) {
	l.identitiesMu.Lock()
	who, ok := l.identities[idToken]
	l.identitiesMu.Unlock()
	if ok {
		return who, nil
	}
	who, err := identityFrom(idToken)
	if err != nil {
		return Identity{}, err
	}
	l.identitiesMu.Lock()
	defer l.identitiesMu.Unlock()
	if l.identities == nil || len(l.identities) >= maxIdentities {
		l.identities = make(map[string]Identity)
	}
	l.identities[idToken] = who
	return who, nil
}

// refresh exchanges a refresh token once, however many requests of the
// same session ask at the same time or shortly after.
func (l *Logto) refresh(ctx context.Context, refreshToken string) (core.RefreshTokenResponse, error) {
	key := sha256.Sum256([]byte(refreshToken))
	if tokens, ok := l.recentRefresh(key); ok {
		return tokens, nil
	}
	v, err, _ := l.refreshes.Do(string(key[:]), func() (any, error) {
		if tokens, ok := l.recentRefresh(key); ok {
			return tokens, nil
		}
		// The refresh serves every request waiting on it, so the first
		// one's client going away must not fail the others; the HTTP
		// client's Timeout still bounds each call.
		ctx := context.WithoutCancel(ctx)
		oidc, err := l.oidcConfig(ctx)
		if err != nil {
			return nil, err
		}
		tokens, ok := l.unverifiedRefresh(key)
		if !ok {
			tokens, err = core.FetchTokenByRefreshToken(l.http, &core.FetchTokenByRefreshTokenOptions{
				TokenEndpoint: oidc.TokenEndpoint,
				ClientId:      l.cfg.AppID,
				ClientSecret:  l.cfg.AppSecret,
				RefreshToken:  refreshToken,
			})
			if err != nil {
				return nil, classifyTokenError("refresh", err, ErrSignedOut)
			}
		}
		if err := l.verifyIDToken(ctx, oidc, tokens.IdToken); err != nil {
			if errors.Is(err, ErrBadCallback) {
				// No callback here: a refreshed ID token that does not
				// verify leaves the session without a trusted identity.
				l.forgetRefresh(key)
				return nil, fmt.Errorf("refresh: %w: %v", ErrSignedOut, err)
			}
			l.rememberRefresh(key, tokens, false)
			return nil, err
		}
		l.rememberRefresh(key, tokens, true)
		return tokens, nil
	})
	if err != nil {
		return core.RefreshTokenResponse{}, err
	}
	return v.(core.RefreshTokenResponse), nil
}

func (l *Logto) recentRefresh(key [32]byte) (core.RefreshTokenResponse, bool) {
	r, ok := l.storedRefresh(key)
	return r.tokens, ok && r.verified
}

// unverifiedRefresh is the answer to the refresh token of key that is
// still waiting to be checked, if any.
func (l *Logto) unverifiedRefresh(key [32]byte) (core.RefreshTokenResponse, bool) {
	r, ok := l.storedRefresh(key)
	return r.tokens, ok && !r.verified
}

// storedRefresh is what the refresh token of key was exchanged for, while
// that answer is kept.
func (l *Logto) storedRefresh(key [32]byte) (refreshResult, bool) {
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	r, ok := l.refreshed[key]
	if !ok || r.expired(l.now()) {
		return refreshResult{}, false
	}
	return r, true
}

// expired says whether r is past how long such an answer is kept.
func (r refreshResult) expired(now time.Time) bool {
	ttl := recentRefreshTTL
	if !r.verified {
		ttl = unverifiedRefreshTTL
	}
	return now.Sub(r.at) > ttl
}

// rememberRefresh records what the refresh token of key was exchanged
// for, and whether its ID token verified. Old entries go on the way.
func (l *Logto) rememberRefresh(key [32]byte, tokens core.RefreshTokenResponse, verified bool) {
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	now := l.now()
	for k, r := range l.refreshed {
		if r.expired(now) {
			delete(l.refreshed, k)
		}
	}
	l.refreshed[key] = refreshResult{tokens: tokens, at: now, verified: verified}
}

// forgetRefresh drops the answer to the refresh token of key: its ID token
// failed verification, so it is no use to anyone.
func (l *Logto) forgetRefresh(key [32]byte) {
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	delete(l.refreshed, key)
}

// SignOut revokes the session's refresh token at Logto (with client
// authentication, which the SDK's own SignOut omits, so without this the
// token stays valid for its whole lifetime, 14 days by default), clears
// the tokens from storage and returns Logto's end-session URL. The local
// sign-out always happens; the returned error only reports that Logto
// could not be told.
func (l *Logto) SignOut(ctx context.Context, storage client.Storage) (string, error) {
	refreshToken := storage.GetItem(client.StorageKeyRefreshToken)
	for _, key := range []string{client.StorageKeyIdToken, client.StorageKeyRefreshToken, client.StorageKeyAccessTokenMap, client.StorageKeySignInSession} {
		storage.SetItem(key, "")
	}
	oidc, err := l.oidcConfig(ctx)
	if err != nil {
		return "", err
	}
	var revokeErr error
	if refreshToken != "" {
		revokeErr = l.revoke(ctx, oidc.RevocationEndpoint, refreshToken)
	}
	endSession, err := core.GenerateSignOutUri(&core.SignOutUriGenerationOptions{
		EndSessionEndpoint:    oidc.EndSessionEndpoint,
		ClientId:              l.cfg.AppID,
		PostLogoutRedirectUri: l.cfg.PostSignOutURL,
	})
	if err != nil {
		return "", fmt.Errorf("sign out: %w", err)
	}
	return endSession, revokeErr
}

func (l *Logto) revoke(ctx context.Context, endpoint, token string) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(l.cfg.AppID), url.QueryEscape(l.cfg.AppSecret))
	resp, err := l.http.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: %w: status %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

func (l *Logto) store(storage client.Storage, tokens core.CodeTokenResponse) {
	c := l.Client(storage)
	c.SetIdToken(tokens.IdToken)
	// Logto always returns the refresh token on refresh (the same one when
	// not rotated); keep the old one if a reply ever omits it.
	if tokens.RefreshToken != "" {
		c.SetRefreshToken(tokens.RefreshToken)
	}
	c.SaveAccessToken("@", client.AccessToken{
		Token:     tokens.AccessToken,
		Scope:     tokens.Scope,
		ExpiresAt: l.now().Unix() + int64(tokens.ExpireIn),
	})
}

func (l *Logto) oidcConfig(ctx context.Context) (core.OidcConfigResponse, error) {
	return l.oidcConfigWithin(ctx, discoveryTTL)
}

// oidcConfigWithin returns the discovery document, fetched again when the
// cached copy is maxAge old or older. A failed fetch is ErrUnavailable even
// when an older copy is cached. Concurrent callers share one fetch.
func (l *Logto) oidcConfigWithin(ctx context.Context, maxAge time.Duration) (core.OidcConfigResponse, error) {
	return l.discovery.get(ctx, l.now, maxAge, func() (core.OidcConfigResponse, error) {
		endpoint, err := url.JoinPath(l.cfg.Endpoint, "/oidc/.well-known/openid-configuration")
		if err != nil {
			return core.OidcConfigResponse{}, fmt.Errorf("discovery: %w", err)
		}
		cfg, err := core.FetchOidcConfig(l.http, endpoint)
		if err != nil {
			return core.OidcConfigResponse{}, fmt.Errorf("discovery: %w: %v", ErrUnavailable, err)
		}
		return cfg, nil
	})
}

// verifyIDToken checks the token against cached keys and refetches the
// key set once when the token names a key we have not seen (rotation).
func (l *Logto) verifyIDToken(ctx context.Context, oidc core.OidcConfigResponse, idToken string) error {
	if idToken == "" {
		return fmt.Errorf("%w: token response without id_token", ErrUnavailable)
	}
	for attempt := 0; attempt < 2; attempt++ {
		jwks, err := l.keySet(ctx, oidc.JwksUri, attempt > 0)
		if err != nil {
			return err
		}
		err = core.VerifyIdToken(idToken, l.cfg.AppID, oidc.Issuer, jwks)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jose.ErrJWKSKidNotFound) || attempt > 0 {
			return fmt.Errorf("verify ID token: %w: %v", ErrBadCallback, err)
		}
	}
	return nil
}

// keySet returns Logto's signing keys, fetched once and again only when
// force is set (a token names a key not in the set).
func (l *Logto) keySet(ctx context.Context, uri string, force bool) (*jose.JSONWebKeySet, error) {
	maxAge := time.Duration(math.MaxInt64)
	if force {
		maxAge = 0
	}
	return l.jwks.get(ctx, l.now, maxAge, func() (*jose.JSONWebKeySet, error) {
		raw, err := core.FetchJwks(l.http, uri)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w: %v", ErrUnavailable, err)
		}
		set := &jose.JSONWebKeySet{}
		for _, k := range raw.Keys {
			data, err := json.Marshal(k)
			if err != nil {
				return nil, fmt.Errorf("jwks: %w", err)
			}
			var key jose.JSONWebKey
			if err := key.UnmarshalJSON(data); err != nil {
				return nil, fmt.Errorf("jwks: %w: %v", ErrUnavailable, err)
			}
			set.Keys = append(set.Keys, key)
		}
		return set, nil
	})
}

// classifyTokenError separates "Logto said no to this grant" (an invalid,
// replayed or expired code, a revoked refresh token) from everything else.
// The v2.0.0 SDK reports every failure as an untyped error, a reply other
// than 200 as "unexpected status code: N, response body: B", so the status
// and the OAuth error code are read back from that text. Only a 400 with
// invalid_grant (or with no OAuth error body, as a rejection always was
// taken) is the grant's end: a 408, a 429 or a 5xx is Logto being busy or
// down, and invalid_client or unauthorized_client means this app's ID or
// secret is wrong, which no fresh sign-in can cure, so both are
// ErrUnavailable and the person keeps their session.
func classifyTokenError(step string, err error, rejected error) error {
	status, code := tokenErrorOf(err.Error())
	switch {
	case code == "invalid_client" || code == "unauthorized_client":
		return fmt.Errorf("%s: %w: Logto refused this app's credentials (%s), check the app ID and secret: %v", step, ErrUnavailable, code, err)
	case status == http.StatusBadRequest && (code == "invalid_grant" || code == ""):
		return fmt.Errorf("%s: %w: %v", step, rejected, err)
	}
	return fmt.Errorf("%s: %w: %v", step, ErrUnavailable, err)
}

// tokenErrorOf reads the status and the OAuth error code back from the
// SDK's message; status is 0 when the message is not a status reply, code
// "" when the body is not an OAuth error object.
func tokenErrorOf(msg string) (status int, code string) {
	rest, ok := strings.CutPrefix(msg, "unexpected status code: ")
	if !ok {
		return 0, ""
	}
	num, body, _ := strings.Cut(rest, ", response body: ")
	status, err := strconv.Atoi(num)
	if err != nil {
		return 0, ""
	}
	var reply struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &reply) != nil {
		return status, ""
	}
	return status, reply.Error
}

// identityFrom reads the (already verified) ID token, once per request: the
// SDK's claims plus created_at, which is epoch milliseconds, not seconds,
// and not in the SDK's claims struct.
func identityFrom(idToken string) (Identity, error) {
	jwt, err := core.ParseSignedJwt(idToken)
	if err != nil {
		return Identity{}, fmt.Errorf("decode ID token: %w", err)
	}
	var claims struct {
		core.IdTokenClaims
		CreatedAt int64 `json:"created_at"`
	}
	if err := jwt.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return Identity{}, fmt.Errorf("decode ID token: %w", err)
	}
	who := Identity{
		Subject:   claims.Sub,
		Name:      claims.Name,
		Email:     claims.Email,
		Username:  claims.Username,
		ExpiresAt: time.Unix(claims.Exp, 0),
	}
	if claims.CreatedAt > 0 {
		who.RegisteredAt = time.UnixMilli(claims.CreatedAt).UTC()
	}
	return who, nil
}
