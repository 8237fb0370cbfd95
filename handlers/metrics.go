package handlers

import (
	"fmt"
	"net/http"

	"reportgate/internal/authz"
)

// metrics exposes the authorization outcomes and PDP latency in the
// Prometheus text format. The figures are counts and durations only.
type metricsHandler struct {
	authzStats func() authz.Stats
}

func (h *metricsHandler) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.authzStats == nil {
		return
	}
	s := h.authzStats()
	counter := func(name, help string, v int64, labels string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s%s %d\n", name, help, name, name, labels, v)
	}
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	fmt.Fprintf(w, "# HELP reportgate_authz_decisions_total Decisions returned to pages, by outcome.\n# TYPE reportgate_authz_decisions_total counter\n")
	fmt.Fprintf(w, "reportgate_authz_decisions_total{outcome=\"allow\"} %d\n", s.Allows)
	fmt.Fprintf(w, "reportgate_authz_decisions_total{outcome=\"deny\"} %d\n", s.Denies)
	fmt.Fprintf(w, "reportgate_authz_decisions_total{outcome=\"unavailable\"} %d\n", s.Unavailable)
	fmt.Fprintf(w, "# HELP reportgate_pdp_requests_total PDP requests sent, by endpoint.\n# TYPE reportgate_pdp_requests_total counter\n")
	fmt.Fprintf(w, "reportgate_pdp_requests_total{endpoint=\"allowed\"} %d\n", s.AllowedCalls)
	fmt.Fprintf(w, "reportgate_pdp_requests_total{endpoint=\"bulk\"} %d\n", s.BulkCalls)
	counter("reportgate_pdp_errors_total", "PDP requests that failed (transport, non-200, timeout, bad reply).", s.PDPErrors, "")
	counter("reportgate_authz_cache_hits_total", "Decisions answered from the cache.", s.CacheHits, "")
	counter("reportgate_authz_coalesced_total", "Cache misses that shared another caller's PDP request.", s.Coalesced, "")
	gauge("reportgate_authz_cache_entries", "Decisions currently cached.", float64(s.CacheEntries))
	gauge("reportgate_pdp_latency_p50_seconds", "Median PDP request latency over recent requests.", s.LatencyP50.Seconds())
	gauge("reportgate_pdp_latency_p99_seconds", "99th percentile PDP request latency over recent requests.", s.LatencyP99.Seconds())
}
