package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"reportgate/internal/ratelimit"
)

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"https", "http"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{
				httpsBaseURL: scheme == "https",
				// One sign-in per minute: the second is a 429.
				signInLimit: ratelimit.PerClient{Limiter: ratelimit.New(1, 0, time.Now)},
			})
			answers := map[string]*http.Response{
				"page":          answer(t, e, "GET", "/", nil),
				"404":           answer(t, e, "GET", "/no-such-page", nil),
				"host redirect": answer(t, e, "GET", "/reports", func(r *http.Request) { r.Host = "other.example" }),
			}
			answer(t, e, "GET", "/sign-in", nil)
			answers["429"] = answer(t, e, "GET", "/sign-in", nil)
			wantStatus := map[string]int{"page": 200, "404": 404, "host redirect": 308, "429": 429}
			for name, resp := range answers {
				if resp.StatusCode != wantStatus[name] {
					t.Errorf("%s: status %d, want %d", name, resp.StatusCode, wantStatus[name])
				}
				h := resp.Header
				if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") || !strings.Contains(pp, "geolocation=()") {
					t.Errorf("%s: Permissions-Policy %q", name, pp)
				}
				if got := h.Get("Cross-Origin-Opener-Policy"); got != "same-origin" {
					t.Errorf("%s: Cross-Origin-Opener-Policy %q", name, got)
				}
				if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
					h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") == "" {
					t.Errorf("%s: the older headers are missing: %v", name, h)
				}
				hsts := h.Get("Strict-Transport-Security")
				if scheme == "https" && hsts != "max-age=31536000; includeSubDomains" {
					t.Errorf("%s: HSTS %q with an https base URL", name, hsts)
				}
				if scheme == "http" && hsts != "" {
					t.Errorf("%s: HSTS %q with an http base URL", name, hsts)
				}
			}
		})
	}
}
