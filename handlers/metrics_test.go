package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsArePrivateAndInPrometheusFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{decisionTTL: time.Hour})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	b.get(e.app.URL + "/reports")
	b.get(e.app.URL + "/reports") // answered from the decision cache

	// A route with a path parameter, an unknown method and an unsigned
	// webhook.
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/admin/users/abc/role", strings.NewReader("role=admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.app.URL)
	b.do(req)
	brew, _ := http.NewRequest("BREW", e.app.URL+"/coffee", nil)
	b.do(brew)
	if code := deliverTo(t, e.app.URL, userCreated, "00"); code != http.StatusUnauthorized {
		t.Fatalf("unsigned webhook: %d", code)
	}

	if p := b.get(e.app.URL + "/metrics"); p.Status != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", p.Status)
	}

	rec := httptest.NewRecorder()
	e.metrics.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		"# TYPE reportgate_http_request_duration_seconds histogram",
		`reportgate_http_request_duration_seconds_count{code="200",method="GET",route="GET /reports"} 2`,
		`route="POST /admin/users/{id}/role"`,
		`reportgate_http_request_duration_seconds_count{code="404",method="other",route="unmatched"} 1`,
		"# TYPE reportgate_pdp_request_duration_seconds histogram",
		`reportgate_pdp_request_duration_seconds_count{endpoint="allowed"} `,
		// Every page also asks users:manage, sync:manage and audit:view
		// for the nav: home after sign-in (view, 3 nav), /reports twice
		// (view, export, 3 nav; the second from the cache) and the refused
		// POST (3 nav from the cache).
		`reportgate_authz_decisions_total{outcome="allow"} 5`,
		`reportgate_authz_decisions_total{outcome="deny"} 12`,
		`reportgate_authz_decisions_total{outcome="unavailable"} 0`,
		"reportgate_pdp_errors_total 0",
		"reportgate_authz_cache_hits_total 12",
		`reportgate_webhook_deliveries_total{outcome="rejected_signature"} 1`,
		`reportgate_permit_api_request_duration_seconds_count{operation="sync_user"} 0`,
		`reportgate_sync_jobs_total{result="retried"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, never := range []string{"/admin/users/abc", "BREW", "/coffee", "p50", "p99"} {
		if strings.Contains(body, never) {
			t.Errorf("metrics contain %q", never)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}
