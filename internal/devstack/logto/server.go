// Package logto is a local stand-in for a Logto tenant, used by `reportgate
// dev` and by tests. It serves Logto's OIDC endpoints, hosted sign-in and
// registration pages, the part of the Management API the app uses, and sends
// Logto's webhooks, reproducing Logto's wire behaviour including its quirks.
//
// The real Logto Go SDK v2.0.0 must work against it unchanged, so the OIDC
// endpoints are written by hand rather than with a generic OIDC server
// library: those put `aud` in ID tokens as an array, which the SDK cannot
// decode (it unmarshals `aud` into a string).
package logto

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"reportgate/static"
)

// App is an application registered in the tenant.
type App struct {
	ID, Secret string
	// Type is "Traditional" (web app: authorization code + refresh, Basic
	// client auth) or "MachineToMachine" (client credentials only).
	Type                                 string
	RedirectURIs, PostLogoutRedirectURIs []string
	// Name appears in webhook payloads' `application` object; "" → ID.
	Name string
}

// App types, as Logto spells them.
const (
	AppTraditional      = "Traditional"
	AppMachineToMachine = "MachineToMachine"
)

// SeedUser is an account created at start when its email does not exist yet.
type SeedUser struct {
	Email, Password, Name string
}

// Config configures a Server. Zero values give Logto's defaults.
type Config struct {
	// Endpoint is the public base URL, e.g. "http://127.0.0.1:3001"; the
	// issuer is Endpoint+"/oidc".
	Endpoint string
	// DataDir keeps accounts, the signing key, sessions and grants across
	// restarts (in logto-standin.json); "" keeps everything in memory.
	DataDir   string
	Apps      []App
	SeedUsers []SeedUser

	// WebhookURL receives webhooks; "" sends none. WebhookSigningKey signs
	// them; "" sends no signature header, like a very old Logto hook.
	WebhookURL, WebhookSigningKey string
	// WebhookRetries switches from released Logto (one attempt, no retry)
	// to the post-#9410 behaviour: up to 3 retries on 5xx.
	WebhookRetries bool
	// WebhookEvents are the subscribed events; nil subscribes to
	// DefaultWebhookEvents().
	WebhookEvents []string

	// RotateRefreshTokenAlways rotates on every refresh (as Logto does for
	// public clients); by default a confidential client's refresh token
	// rotates only once 70% of its lifetime has passed.
	RotateRefreshTokenAlways bool

	// Lifetimes; zero means Logto's default.
	IDTokenTTL, AccessTokenTTL, RefreshTokenTTL, CodeTTL time.Duration
	// PasswordIterations is the PBKDF2-SHA256 cost for new password hashes;
	// 0 → 10 000, cheap enough for tests and a dev stand-in.
	PasswordIterations int

	// Now is the clock (tests move it); nil → time.Now.
	Now func() time.Time
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Logto's default lifetimes.
const (
	defaultIDTokenTTL      = time.Hour
	defaultAccessTokenTTL  = time.Hour
	defaultRefreshTokenTTL = 14 * 24 * time.Hour
	defaultCodeTTL         = 60 * time.Second
	sessionTTL             = 14 * 24 * time.Hour
	grantTTL               = 180 * 24 * time.Hour
	interactionTTL         = time.Hour
	defaultPBKDF2Cost      = 10_000
)

// Server is a running stand-in. All state sits behind mu.
type Server struct {
	cfg     Config
	issuer  string
	apps    map[string]App
	key     *signingKey
	hooks   *Webhooks
	assets  *static.Assets
	log     *slog.Logger
	handler http.Handler
	// discoveryJSON is the encoded OpenID configuration, which never changes.
	discoveryJSON []byte
	mu            sync.Mutex
	st            *state
	verifiedMu    sync.Mutex
	verified      map[string][]byte // Management API token → verified payload

	closeErr error
	closed   sync.Once
}

// New starts a stand-in: it loads or creates the persisted state, creates
// the seed users and prepares the webhook sender.
func New(cfg Config) (*Server, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("logto stand-in: Endpoint is required")
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	setDefault(&cfg.IDTokenTTL, defaultIDTokenTTL)
	setDefault(&cfg.AccessTokenTTL, defaultAccessTokenTTL)
	setDefault(&cfg.RefreshTokenTTL, defaultRefreshTokenTTL)
	setDefault(&cfg.CodeTTL, defaultCodeTTL)
	if cfg.PasswordIterations <= 0 {
		cfg.PasswordIterations = defaultPBKDF2Cost
	}
	s := &Server{
		cfg:      cfg,
		issuer:   cfg.Endpoint + "/oidc",
		apps:     map[string]App{},
		assets:   static.New(),
		log:      cfg.Logger,
		verified: map[string][]byte{},
	}
	for _, a := range cfg.Apps {
		if a.Type != AppTraditional && a.Type != AppMachineToMachine {
			return nil, fmt.Errorf("logto stand-in: app %q: unsupported type %q", a.ID, a.Type)
		}
		if a.Name == "" {
			a.Name = a.ID
		}
		s.apps[a.ID] = a
	}
	st, err := loadState(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("logto stand-in: %w", err)
	}
	s.st = st
	if s.key, err = st.signingKey(); err != nil {
		return nil, fmt.Errorf("logto stand-in: %w", err)
	}
	// Compacting at start-up also writes a newly made key and hook id.
	if err := st.compact(); err != nil {
		return nil, fmt.Errorf("logto stand-in: %w", err)
	}
	for _, u := range cfg.SeedUsers {
		// Seeding fires no webhooks: the seed users exist "before" the app.
		if _, err := s.createAccount(accountInput{email: u.Email, name: u.Name, password: u.Password}); err != nil && !errors.Is(err, errEmailInUse) {
			return nil, fmt.Errorf("logto stand-in: seed user %s: %w", u.Email, err)
		}
	}
	if s.discoveryJSON, err = marshalJS(discoveryDocument(s.issuer)); err != nil {
		return nil, fmt.Errorf("logto stand-in: encode discovery: %w", err)
	}
	s.hooks = newWebhooks(cfg, st.HookID, s.lookupUser)
	s.handler = s.routes()
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Handler serves every endpoint; mount it at "/".
func (s *Server) Handler() http.Handler { return s.handler }

// Webhooks gives tests control over webhook deliveries.
func (s *Server) Webhooks() *Webhooks { return s.hooks }

// Close waits for in-flight webhook deliveries (releasing held ones) and
// closes the log. Every change is already in it.
func (s *Server) Close() error {
	s.closed.Do(func() {
		s.hooks.close()
		s.mu.Lock()
		s.closeErr = s.st.close()
		s.mu.Unlock()
	})
	return s.closeErr
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oidc/.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /oidc/jwks", s.jwks)
	mux.HandleFunc("GET /oidc/auth", s.authorize)
	mux.HandleFunc("POST /oidc/auth", s.authorize)
	mux.HandleFunc("POST /oidc/token", s.token)
	mux.HandleFunc("GET /oidc/me", s.userinfo)
	mux.HandleFunc("POST /oidc/me", s.userinfo)
	mux.HandleFunc("POST /oidc/token/revocation", s.revoke)
	mux.HandleFunc("GET /oidc/session/end", s.endSession)
	mux.HandleFunc("POST /oidc/session/end", s.endSession)
	mux.HandleFunc("POST /oidc/session/end/confirm", s.confirmEndSession)

	// The hosted forms refuse cross-site posts (Origin / Sec-Fetch-Site).
	cop := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /sign-in", s.withInteraction(s.signInPage))
	mux.Handle("POST /sign-in", cop.Handler(s.withInteraction(s.signInSubmit)))
	mux.HandleFunc("GET /register", s.withInteraction(s.registerPage))
	mux.Handle("POST /register", cop.Handler(s.withInteraction(s.registerSubmit)))
	mux.HandleFunc("GET /sign-in/cancel", s.withInteraction(s.cancelInteraction))

	s.managementRoutes(mux)
	s.controlRoutes(mux)
	mux.Handle("GET "+static.Prefix, s.assets)
	mux.HandleFunc("GET /{$}", s.index)
	return mux
}
