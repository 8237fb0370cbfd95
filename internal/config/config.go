// Package config reads reportgate's settings from the environment, an
// optional .env file and (in dev mode) generated defaults, validates them
// all at once, and reports every problem together so an operator fixes a
// deployment in one pass.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Lookup finds a setting by name; ok is false when it is not set.
type Lookup func(name string) (value string, ok bool)

// Layered returns a Lookup that consults each source in turn; the first
// source that has a non-empty value wins (environment > .env > generated).
func Layered(sources ...Lookup) Lookup {
	return func(name string) (string, bool) {
		for _, src := range sources {
			if src == nil {
				continue
			}
			if v, ok := src(name); ok && v != "" {
				return v, true
			}
		}
		return "", false
	}
}

// FromGetenv adapts an os.Getenv-style function.
func FromGetenv(getenv func(string) string) Lookup {
	return func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	}
}

// FromMap adapts a map (parsed .env file, generated dev settings).
func FromMap(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Settings is the validated configuration of the app.
type Settings struct {
	Addr          string
	BaseURL       *url.URL
	SessionSecret []byte
	DatabaseURL   string

	// SessionSecretPrevious still opens cookies sealed or signed before a
	// rotation of SessionSecret, so rotating it signs nobody out.
	SessionSecretPrevious []byte

	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// SessionCacheTTL is how long a replica reuses a session row it read
	// (0: read it on every request). Ends of sessions reach every replica
	// at once regardless; this bounds what a lost notification costs.
	SessionCacheTTL time.Duration

	// MetricsAddr is the private listener for Prometheus metrics; empty
	// turns it off. Metrics are never served on the public listener.
	MetricsAddr string
	// RateLimit is requests per minute per client on the sign-in routes
	// and for rejected webhooks; 0 turns the limits off.
	RateLimit int
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// ShutdownDelay is how long /readyz answers 503 before the listener
	// closes, so load balancers stop sending traffic first.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds draining HTTP and letting running jobs finish.
	ShutdownTimeout time.Duration

	// Provisioning: webhook events older than EventMaxAge are ignored;
	// recorded events and finished jobs are kept for Retention; a sync job
	// gives up (stays visible as failed) after SyncMaxAttempts.
	EventMaxAge     time.Duration
	Retention       time.Duration
	SyncMaxAttempts int

	// AuditRetention is how long audit entries are kept.
	AuditRetention time.Duration
	// RequestablePermissions are the "resource:action" permissions people
	// may ask for on the access-denied page.
	RequestablePermissions []string

	Logto  Logto
	Permit Permit
	// LogLevel is debug, info, warn or error.
	LogLevel string
}

// Logto holds the Logto tenant, app and webhook settings.
type Logto struct {
	Endpoint  string
	AppID     string
	AppSecret string
	// Timeout bounds every call to Logto (the SDK has none of its own).
	Timeout time.Duration

	WebhookSigningKey         string
	WebhookSigningKeyPrevious string

	M2MAppID           string
	M2MAppSecret       string
	ManagementResource string
}

// Permit holds the Permit.io settings.
type Permit struct {
	APIKey string
	APIURL string
	PDPURL string
	Tenant string
	// Timeout bounds every call to Permit (API and PDP).
	Timeout time.Duration
	// AllowTTL and DenyTTL are how long decisions are cached; 0 disables.
	AllowTTL time.Duration
	DenyTTL  time.Duration
	// DefaultRole is granted once to every new person.
	DefaultRole string
	// PropagationGrace is how long after a sync a deny is shown as "access
	// being set up" rather than "denied" (Permit is eventually consistent).
	PropagationGrace time.Duration
}

// Default values of the settings. This is their one home: Load applies
// them, and packages that guard against a zero value in a directly built
// Config (tests do that) fall back to these same constants.
const (
	// Permit's public endpoints.
	DefaultPermitAPIURL = "https://api.permit.io"
	DefaultPermitPDPURL = "https://cloudpdp.api.permit.io"
	// DefaultPermitTenant is the tenant Permit creates with every environment.
	DefaultPermitTenant   = "default"
	DefaultPermitTimeout  = 2 * time.Second
	DefaultPermitAllowTTL = 10 * time.Second
	DefaultPermitDenyTTL  = 2 * time.Second
	DefaultRole           = "viewer"

	// DefaultManagementResource is the Management API indicator of an OSS or
	// self-hosted Logto; Logto Cloud uses https://<tenant>.logto.app/api.
	DefaultManagementResource = "https://default.logto.app/api"
	DefaultLogtoTimeout       = 10 * time.Second

	DefaultSessionIdleTimeout = 24 * time.Hour
	DefaultSessionMaxAge      = 7 * 24 * time.Hour

	// DefaultEventMaxAge bounds webhook replays (the signature carries no
	// timestamp).
	DefaultEventMaxAge     = 7 * 24 * time.Hour
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultSyncMaxAttempts = 25
	DefaultAuditRetention  = 365 * 24 * time.Hour
	// DefaultRequestablePermissions is comma-separated, as in the setting.
	DefaultRequestablePermissions = "reports:view,reports:export"
)

// Problems lists every invalid or missing setting.
type Problems []string

func (p Problems) Error() string {
	return "invalid settings:\n  - " + strings.Join(p, "\n  - ")
}

// Load reads and validates the settings.
func Load(lookup Lookup) (Settings, error) {
	r := reader{lookup: lookup}
	s := Settings{
		Addr:        r.optional("REPORTGATE_ADDR", ":8080"),
		DatabaseURL: r.required("REPORTGATE_DATABASE_URL", "the app database, sqlite:<path> or postgres://…"),
		LogLevel:    r.oneOf("REPORTGATE_LOG_LEVEL", "info", "debug", "info", "warn", "error"),

		SessionIdleTimeout: r.duration("REPORTGATE_SESSION_IDLE_TIMEOUT", DefaultSessionIdleTimeout),
		SessionMaxAge:      r.duration("REPORTGATE_SESSION_MAX_AGE", DefaultSessionMaxAge),
		SessionCacheTTL:    r.duration("REPORTGATE_SESSION_CACHE_TTL", time.Second),

		EventMaxAge:     r.duration("REPORTGATE_EVENT_MAX_AGE", DefaultEventMaxAge),
		Retention:       r.duration("REPORTGATE_RETENTION", DefaultRetention),
		SyncMaxAttempts: r.intAtLeast("REPORTGATE_SYNC_MAX_ATTEMPTS", 1, DefaultSyncMaxAttempts),

		AuditRetention:         r.duration("REPORTGATE_AUDIT_RETENTION", DefaultAuditRetention),
		RequestablePermissions: r.list("REPORTGATE_REQUESTABLE_PERMISSIONS", DefaultRequestablePermissions),

		MetricsAddr:     r.optional("REPORTGATE_METRICS_ADDR", ""),
		RateLimit:       r.intAtLeast("REPORTGATE_RATE_LIMIT", 0, 60),
		TrustedProxies:  r.prefixes("REPORTGATE_TRUSTED_PROXIES"),
		ShutdownDelay:   r.duration("REPORTGATE_SHUTDOWN_DELAY", 5*time.Second),
		ShutdownTimeout: r.duration("REPORTGATE_SHUTDOWN_TIMEOUT", 20*time.Second),
	}
	s.BaseURL = r.baseURL("REPORTGATE_BASE_URL")
	s.SessionSecret = r.secret("REPORTGATE_SESSION_SECRET", 32)
	if v := r.optional("REPORTGATE_SESSION_SECRET_PREVIOUS", ""); v != "" {
		s.SessionSecretPrevious = r.secret("REPORTGATE_SESSION_SECRET_PREVIOUS", 32)
	}
	if s.DatabaseURL != "" && !strings.HasPrefix(s.DatabaseURL, "sqlite:") &&
		!strings.HasPrefix(s.DatabaseURL, "postgres://") && !strings.HasPrefix(s.DatabaseURL, "postgresql://") {
		r.problem("REPORTGATE_DATABASE_URL must start with sqlite: or postgres://")
	}

	s.Logto = Logto{
		Endpoint:           r.absoluteURL("LOGTO_ENDPOINT", "your Logto tenant, e.g. https://abc123.logto.app", ""),
		AppID:              r.required("LOGTO_APP_ID", "the Traditional web app's App ID"),
		AppSecret:          r.required("LOGTO_APP_SECRET", "the Traditional web app's App secret"),
		Timeout:            r.duration("REPORTGATE_LOGTO_TIMEOUT", DefaultLogtoTimeout),
		WebhookSigningKey:  r.required("LOGTO_WEBHOOK_SIGNING_KEY", "the signing key of the Logto webhook (Console → Webhooks → your hook)"),
		M2MAppID:           r.optional("LOGTO_M2M_APP_ID", ""),
		M2MAppSecret:       r.optional("LOGTO_M2M_APP_SECRET", ""),
		ManagementResource: r.optional("LOGTO_MANAGEMENT_RESOURCE", DefaultManagementResource),

		WebhookSigningKeyPrevious: r.optional("LOGTO_WEBHOOK_SIGNING_KEY_PREVIOUS", ""),
	}
	s.Permit = Permit{
		APIKey:           r.required("PERMIT_API_KEY", "a Permit.io environment API key"),
		APIURL:           r.absoluteURL("PERMIT_API_URL", "", DefaultPermitAPIURL),
		PDPURL:           r.absoluteURL("PERMIT_PDP_URL", "", DefaultPermitPDPURL),
		Tenant:           r.optional("PERMIT_TENANT", DefaultPermitTenant),
		Timeout:          r.duration("PERMIT_TIMEOUT", DefaultPermitTimeout),
		AllowTTL:         r.duration("PERMIT_DECISION_TTL", DefaultPermitAllowTTL),
		DenyTTL:          r.duration("PERMIT_DENY_TTL", DefaultPermitDenyTTL),
		DefaultRole:      r.optional("PERMIT_DEFAULT_ROLE", DefaultRole),
		PropagationGrace: r.duration("PERMIT_PROPAGATION_GRACE", 30*time.Second),
	}
	if s.Permit.Timeout == 0 {
		r.problem("PERMIT_TIMEOUT must be greater than 0")
	}
	if (s.Logto.M2MAppID == "") != (s.Logto.M2MAppSecret == "") {
		r.problem("LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET must be set together")
	}
	if s.SessionIdleTimeout > s.SessionMaxAge {
		r.problem("REPORTGATE_SESSION_IDLE_TIMEOUT must not exceed REPORTGATE_SESSION_MAX_AGE")
	}
	// A replay is known as a duplicate by its recorded event, and older
	// events are refused by age; kept for less than that age, a recorded
	// event could be swept while its replay would still be accepted.
	if s.Retention < s.EventMaxAge {
		r.problem("REPORTGATE_RETENTION must be at least REPORTGATE_EVENT_MAX_AGE (webhook replays are recognised by the recorded event)")
	}
	if len(r.problems) > 0 {
		return Settings{}, r.problems
	}
	return s, nil
}

// CallbackURL is where Logto sends the browser back after sign-in; it is
// derived from the configured base URL, never from the request's Host.
func (s Settings) CallbackURL() string { return s.BaseURL.JoinPath("callback").String() }

// PostSignOutURL is where Logto sends the browser after sign-out.
func (s Settings) PostSignOutURL() string { return s.BaseURL.JoinPath("/").String() }

// SecureCookies reports whether cookies must carry the Secure flag.
func (s Settings) SecureCookies() bool { return s.BaseURL.Scheme == "https" }

type reader struct {
	lookup   Lookup
	problems Problems
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *reader) optional(name, def string) string {
	if v, ok := r.lookup(name); ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *reader) required(name, what string) string {
	v := r.optional(name, "")
	if v == "" {
		r.problem("%s is missing (%s)", name, what)
	}
	return v
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := r.optional(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.problem("%s must be one of %s, not %q", name, strings.Join(allowed, ", "), v)
	return def
}

// list reads a comma-separated list; blanks around items are dropped.
func (r *reader) list(name, def string) []string {
	var out []string
	for _, item := range strings.Split(r.optional(name, def), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.optional(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.problem("%s must be a duration such as 30s or 24h, not %q", name, v)
		return def
	}
	return d
}

// intAtLeast reads a whole number of at least least.
func (r *reader) intAtLeast(name string, least, def int) int {
	v := r.optional(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		r.problem("%s must be a whole number of at least %d, not %q", name, least, v)
		return def
	}
	return n
}

// prefixes reads a comma-separated list of CIDRs; a bare address is taken
// as a single-host prefix.
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Split(r.optional(name, ""), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			addr, aerr := netip.ParseAddr(f)
			if aerr != nil {
				r.problem("%s must be a comma-separated list of CIDRs such as 10.0.0.0/8, not %q", name, f)
				continue
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

func (r *reader) secret(name string, minBytes int) []byte {
	v := r.optional(name, "")
	switch {
	case v == "":
		r.problem("%s is missing (at least %d random bytes, e.g. openssl rand -base64 48)", name, minBytes)
	case len(v) < minBytes:
		r.problem("%s is too weak: %d bytes, need at least %d", name, len(v), minBytes)
	}
	return []byte(v)
}

// absoluteURL reads an http(s) URL without a trailing slash; with a
// default it is optional, otherwise required.
func (r *reader) absoluteURL(name, what, def string) string {
	var v string
	if def != "" {
		v = r.optional(name, def)
	} else {
		v = r.required(name, what)
	}
	v = strings.TrimRight(v, "/")
	if v == "" {
		return ""
	}
	if _, err := ParseHTTPURL(v); err != nil {
		r.problem("%s must be an absolute http(s) URL, not %q", name, v)
	}
	return v
}

// ParseHTTPURL parses an absolute http(s) URL with a host. It is the one
// URL check: Load applies it to every URL setting, and packages that take a
// URL directly use it (or ParseBaseURL) instead of their own.
func ParseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("%q: no host", raw)
	}
	return u, nil
}

// ParseBaseURL is ParseHTTPURL for a URL that other paths are appended to:
// trailing slashes are removed (a client would request //path), and it may
// have no query, fragment or user info and, unless pathOK, no path either
// (the Permit SDK splits its API URL into scheme and host and drops the
// rest).
func ParseBaseURL(raw string, pathOK bool) (*url.URL, error) {
	u, err := ParseHTTPURL(strings.TrimRight(raw, "/"))
	switch {
	case err != nil:
		return nil, err
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("%q: must be a plain base URL", raw)
	case !pathOK && u.Path != "":
		return nil, fmt.Errorf("%q: must be scheme://host[:port] without a path", raw)
	}
	return u, nil
}

func (r *reader) baseURL(name string) *url.URL {
	v := r.required(name, "the public URL people use to reach reportgate, e.g. https://reports.example.com")
	if v == "" {
		return &url.URL{}
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		r.problem("%s must be an absolute URL such as https://reports.example.com, not %q", name, v)
	case u.Scheme != "https" && u.Scheme != "http":
		r.problem("%s must use https (or http on a loopback address), not %q", name, u.Scheme)
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		r.problem("%s must use https unless the host is a loopback address (session cookies would travel in clear text)", name)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		r.problem("%s must be scheme://host[:port] without a path, query or fragment", name)
	}
	if u == nil {
		return &url.URL{}
	}
	u.Path, u.RawPath = "", ""
	u.Host = CanonicalHost(u)
	return u
}

// CanonicalHost is u's host as a browser sends it in Host: lower case,
// without the scheme's default port. A base URL written otherwise
// (https://Reports.example.com:443) would never equal the Host header.
func CanonicalHost(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return host + ":" + port
	}
	return host
}

// IsLoopback reports whether host (a name or an address, no port) is this
// machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseDotEnv parses KEY=VALUE lines (comments, blank lines, optional
// "export ", single or double quotes). A malformed line is an error that
// names the line, so a typo never silently drops a setting.
func ParseDotEnv(data string) (map[string]string, error) {
	out := map[string]string{}
	var errs []string
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			errs = append(errs, fmt.Sprintf(".env line %d: want KEY=VALUE", i+1))
			continue
		}
		value = strings.TrimSpace(value)
		if n := len(value); n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n-1] == value[0] {
			value = value[1 : n-1]
		} else if hash := strings.Index(value, " #"); hash >= 0 {
			value = strings.TrimSpace(value[:hash])
		}
		out[key] = value
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

// WebhookKeys are the keys a webhook signature may match: the current one
// and, during a rotation, the previous one.
func (s Settings) WebhookKeys() []string {
	keys := []string{s.Logto.WebhookSigningKey}
	if s.Logto.WebhookSigningKeyPrevious != "" {
		keys = append(keys, s.Logto.WebhookSigningKeyPrevious)
	}
	return keys
}
