// Package metrics holds reportgate's Prometheus metrics: one registry per
// app (never the global default), the instruments the app feeds, and the
// handler that serves them on the private metrics listener.
package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the app's registry and instruments. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpDuration   *prometheus.HistogramVec
	pdpDuration    *prometheus.HistogramVec
	permitDuration *prometheus.HistogramVec
	webhooks       *prometheus.CounterVec
	syncJobs       *prometheus.CounterVec
	// deliveries mirrors webhooks for pages (the admin sync page), with a
	// last-24-hours figure Prometheus counters cannot give.
	deliveries *Tally
}

// New builds a registry with the Go runtime and process collectors and
// reportgate's own metrics. now is the clock of the in-memory delivery
// counts; nil means time.Now.
func New(now func() time.Time) *Metrics {
	m := &Metrics{
		reg:        prometheus.NewRegistry(),
		deliveries: NewTally(now),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reportgate_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		pdpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reportgate_pdp_request_duration_seconds",
			Help:    "Time of Permit PDP calls (errors included), by endpoint.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		permitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reportgate_permit_api_request_duration_seconds",
			Help:    "Time of Permit API (directory) operations (errors included), by operation.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reportgate_webhook_deliveries_total",
			Help: "Logto webhook deliveries, by outcome.",
		}, []string{"outcome"}),
		syncJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reportgate_sync_jobs_total",
			Help: "Finished attempts of user sync jobs on this replica, by result.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpDuration, m.pdpDuration, m.permitDuration, m.webhooks, m.syncJobs,
	)
	// Known series start at zero, so rates and alerts see them before the
	// first event.
	for _, e := range []string{"allowed", "bulk"} {
		m.pdpDuration.WithLabelValues(e)
	}
	for _, op := range []string{"sync_user", "assign_role", "unassign_role", "assigned_roles", "delete_user"} {
		m.permitDuration.WithLabelValues(op)
	}
	for _, r := range []string{"succeeded", "retried", "failed", "cancelled"} {
		m.syncJobs.WithLabelValues(r)
	}
	return m
}

// Register adds a collector of the app's (authz counters, job states).
func (m *Metrics) Register(c prometheus.Collector) error {
	return m.reg.Register(c)
}

// Handler serves the registry in the Prometheus exposition format at GET
// /metrics, for the private metrics listener.
func (m *Metrics) Handler(logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		Timeout:           10 * time.Second,
		EnableOpenMetrics: true,
	}))
	return mux
}

// knownMethods are the methods kept as label values; any other is "other",
// so a client cannot mint label values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveHTTP records one answered request. route is the ServeMux pattern
// that matched ("" when none did).
func (m *Metrics) ObserveHTTP(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if !knownMethods[method] {
		method = "other"
	}
	m.httpDuration.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// ObservePDP records one PDP call; endpoint is "allowed" or "bulk".
func (m *Metrics) ObservePDP(endpoint string, d time.Duration) {
	m.pdpDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// ObservePermitAPI records one Permit directory operation.
func (m *Metrics) ObservePermitAPI(operation string, d time.Duration) {
	m.permitDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// Webhook counts one delivery by outcome.
func (m *Metrics) Webhook(outcome string) {
	m.webhooks.WithLabelValues(outcome).Inc()
	m.deliveries.Add(outcome)
}

// WebhookCounts are the deliveries of each outcome in outcomes counted by
// this replica since it started, in memory.
func (m *Metrics) WebhookCounts(outcomes ...string) []Count {
	return m.deliveries.Counts(outcomes...)
}

// SyncJob counts one finished job attempt by result.
func (m *Metrics) SyncJob(result string) {
	m.syncJobs.WithLabelValues(result).Inc()
}
