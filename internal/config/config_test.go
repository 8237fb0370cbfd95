package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func validEnv() map[string]string {
	return map[string]string{
		"REPORTGATE_BASE_URL":       "https://reports.example.com",
		"REPORTGATE_SESSION_SECRET": strings.Repeat("s", 32),
		"REPORTGATE_DATABASE_URL":   "postgres://db.internal/reportgate",
		"LOGTO_ENDPOINT":            "https://abc.logto.app/",
		"LOGTO_APP_ID":              "app",
		"LOGTO_APP_SECRET":          "secret",
		"PERMIT_API_KEY":            "permit_key_x",
		"LOGTO_WEBHOOK_SIGNING_KEY": "whsec",
	}
}

func TestLoadValid(t *testing.T) {
	s, err := Load(FromMap(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CallbackURL(); got != "https://reports.example.com/callback" {
		t.Errorf("callback URL = %q", got)
	}
	if got := s.PostSignOutURL(); got != "https://reports.example.com/" {
		t.Errorf("post sign-out URL = %q", got)
	}
	if !s.SecureCookies() {
		t.Error("https base URL must give secure cookies")
	}
	if s.Logto.Endpoint != "https://abc.logto.app" {
		t.Errorf("endpoint keeps its trailing slash: %q", s.Logto.Endpoint)
	}
	if s.Permit.PDPURL != DefaultPermitPDPURL || s.Permit.Tenant != "default" || s.Permit.DefaultRole != "viewer" {
		t.Errorf("permit defaults %+v", s.Permit)
	}
	if s.Logto.ManagementResource != DefaultManagementResource {
		t.Errorf("management resource default = %q", s.Logto.ManagementResource)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(FromMap(map[string]string{"REPORTGATE_SESSION_SECRET": "short"}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"REPORTGATE_BASE_URL", "REPORTGATE_SESSION_SECRET is too weak", "REPORTGATE_DATABASE_URL",
		"LOGTO_ENDPOINT", "LOGTO_APP_ID", "LOGTO_APP_SECRET", "PERMIT_API_KEY", "LOGTO_WEBHOOK_SIGNING_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	cases := map[string]struct {
		key, value, want string
	}{
		"relative base URL":        {"REPORTGATE_BASE_URL", "reports.example.com", "absolute URL"},
		"http on a public host":    {"REPORTGATE_BASE_URL", "http://reports.example.com", "must use https"},
		"base URL with a path":     {"REPORTGATE_BASE_URL", "https://example.com/reports", "without a path"},
		"ftp base URL":             {"REPORTGATE_BASE_URL", "ftp://example.com", "must use https"},
		"unknown database":         {"REPORTGATE_DATABASE_URL", "mysql://x", "sqlite: or postgres://"},
		"bad duration":             {"REPORTGATE_SESSION_IDLE_TIMEOUT", "soon", "duration"},
		"relative Logto endpoint":  {"LOGTO_ENDPOINT", "abc.logto.app", "absolute http(s) URL"},
		"M2M id without secret":    {"LOGTO_M2M_APP_ID", "m2m", "set together"},
		"unknown log level":        {"REPORTGATE_LOG_LEVEL", "loud", "one of"},
		"PDP URL with no scheme":   {"PERMIT_PDP_URL", "localhost:7766", "absolute http(s) URL"},
		"zero Permit timeout":      {"PERMIT_TIMEOUT", "0s", "greater than 0"},
		"zero sync attempts":       {"REPORTGATE_SYNC_MAX_ATTEMPTS", "0", "at least 1"},
		"idle longer than max age": {"REPORTGATE_SESSION_IDLE_TIMEOUT", "999h", "must not exceed"},
		"weak previous secret":     {"REPORTGATE_SESSION_SECRET_PREVIOUS", "short", "REPORTGATE_SESSION_SECRET_PREVIOUS is too weak"},
		"negative rate limit":      {"REPORTGATE_RATE_LIMIT", "-1", "at least 0"},
		"proxy that is no CIDR":    {"REPORTGATE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal", "list of CIDRs"},
		"bad shutdown delay":       {"REPORTGATE_SHUTDOWN_DELAY", "later", "duration"},
		"retention below max age":  {"REPORTGATE_RETENTION", "24h", "at least REPORTGATE_EVENT_MAX_AGE"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := validEnv()
			env[tc.key] = tc.value
			_, err := Load(FromMap(env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestHTTPAllowedOnLoopback(t *testing.T) {
	for _, base := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		env := validEnv()
		env["REPORTGATE_BASE_URL"] = base
		s, err := Load(FromMap(env))
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if s.SecureCookies() {
			t.Errorf("%s: http base URL must not set Secure cookies", base)
		}
	}
}

// TestBaseURLIsCanonical: the base URL is kept as browsers send its host,
// so the Host check and the callback registered in Logto match them.
func TestBaseURLIsCanonical(t *testing.T) {
	for base, want := range map[string]string{
		"https://Reports.Example.com:443/": "https://reports.example.com/callback",
		"http://127.0.0.1:80":              "http://127.0.0.1/callback",
		"https://reports.example.com:8443": "https://reports.example.com:8443/callback",
		"http://[::1]:8080":                "http://[::1]:8080/callback",
	} {
		env := validEnv()
		env["REPORTGATE_BASE_URL"] = base
		s, err := Load(FromMap(env))
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if got := s.CallbackURL(); got != want {
			t.Errorf("%s: callback %q, want %q", base, got, want)
		}
	}
}

func TestLayeredPrecedence(t *testing.T) {
	env := FromMap(map[string]string{"A": "env", "B": ""})
	dotenv := FromMap(map[string]string{"A": "dotenv", "B": "dotenv", "C": "dotenv"})
	generated := FromMap(map[string]string{"A": "gen", "B": "gen", "C": "gen", "D": "gen"})
	l := Layered(env, dotenv, generated)
	for key, want := range map[string]string{"A": "env", "B": "dotenv", "C": "dotenv", "D": "gen"} {
		if got, _ := l(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if _, ok := l("E"); ok {
		t.Error("unset key reported as set")
	}
}

func TestParseDotEnv(t *testing.T) {
	got, err := ParseDotEnv("# comment\n\nexport A=1\nB = \"two words\"\nC='x#y'\nD=plain # trailing\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x#y", "D": "plain"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := ParseDotEnv("A=1\nnot a setting\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed line error = %v", err)
	}
}

func TestHardeningSettings(t *testing.T) {
	t.Parallel()
	s, err := Load(FromMap(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if s.RateLimit != 60 || s.MetricsAddr != "" || len(s.TrustedProxies) != 0 || s.SessionSecretPrevious != nil ||
		s.ShutdownDelay != 5*time.Second || s.ShutdownTimeout != 20*time.Second {
		t.Errorf("defaults: rate %d, metrics %q, proxies %v, previous %q, delay %s, timeout %s",
			s.RateLimit, s.MetricsAddr, s.TrustedProxies, s.SessionSecretPrevious, s.ShutdownDelay, s.ShutdownTimeout)
	}
	env := validEnv()
	env["REPORTGATE_RATE_LIMIT"] = "0"
	env["REPORTGATE_TRUSTED_PROXIES"] = " 10.1.2.3/8 , 192.0.2.7, fd00::/8 "
	env["REPORTGATE_SESSION_SECRET_PREVIOUS"] = strings.Repeat("p", 32)
	env["REPORTGATE_METRICS_ADDR"] = "127.0.0.1:9464"
	if s, err = Load(FromMap(env)); err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(s.TrustedProxies, want) {
		t.Errorf("trusted proxies = %v, want %v (masked; a bare address is one host)", s.TrustedProxies, want)
	}
	if s.RateLimit != 0 || string(s.SessionSecretPrevious) != strings.Repeat("p", 32) || s.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("rate %d, previous %q, metrics %q", s.RateLimit, s.SessionSecretPrevious, s.MetricsAddr)
	}
}

func TestParseURLs(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{"https://api.permit.io": true, "http://127.0.0.1:7766": true,
		"localhost:7766": false, "ftp://x.example": false, "https://": false} {
		if _, err := ParseHTTPURL(raw); (err == nil) != ok {
			t.Errorf("ParseHTTPURL(%q) err = %v, want ok=%v", raw, err, ok)
		}
	}
	if u, err := ParseBaseURL("https://pdp.example/v2/", true); err != nil || u.String() != "https://pdp.example/v2" {
		t.Errorf("base with a path allowed: %v, %v", u, err)
	}
	for _, raw := range []string{"https://pdp.example/v2", "https://pdp.example?x=1", "https://u:p@pdp.example"} {
		if _, err := ParseBaseURL(raw, false); err == nil {
			t.Errorf("ParseBaseURL(%q, no path) accepted it", raw)
		}
	}
	for host, want := range map[string]bool{"localhost": true, "127.0.0.2": true, "::1": true, "example.com": false, "10.0.0.1": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) != %v", host, want)
		}
	}
}
