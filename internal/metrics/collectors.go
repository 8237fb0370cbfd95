package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"reportgate/internal/authz"
)

var (
	decisionsDesc = prometheus.NewDesc("reportgate_authz_decisions_total",
		"Authorization decisions returned to pages, by outcome.", []string{"outcome"}, nil)
	pdpErrorsDesc = prometheus.NewDesc("reportgate_pdp_errors_total",
		"PDP calls that failed (transport, non-200, timeout, bad reply).", nil, nil)
	cacheHitsDesc = prometheus.NewDesc("reportgate_authz_cache_hits_total",
		"Decisions answered from the cache.", nil, nil)
	coalescedDesc = prometheus.NewDesc("reportgate_authz_coalesced_total",
		"Cache misses that shared another caller's PDP call.", nil, nil)
	jobsDesc = prometheus.NewDesc("reportgate_sync_jobs",
		"User sync jobs by state, exported by the River leader only so that a sum over replicas is right.",
		[]string{"state"}, nil)
)

// authzCollector reads the Checker's own counters at scrape time, so the
// hot path keeps its atomics and nothing is counted twice.
type authzCollector struct {
	stats func() authz.Stats
}

// AuthzCollector exports the decision, PDP error and cache counters of
// stats.
func AuthzCollector(stats func() authz.Stats) prometheus.Collector {
	return authzCollector{stats: stats}
}

func (c authzCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- decisionsDesc
	ch <- pdpErrorsDesc
	ch <- cacheHitsDesc
	ch <- coalescedDesc
}

func (c authzCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(decisionsDesc, s.Allows, "allow")
	counter(decisionsDesc, s.Denies, "deny")
	counter(decisionsDesc, s.Unavailable, "unavailable")
	counter(pdpErrorsDesc, s.PDPErrors)
	counter(cacheHitsDesc, s.CacheHits)
	counter(coalescedDesc, s.Coalesced)
}

// JobCounter counts sync jobs by state and says whether this replica is
// River's leader.
type JobCounter func(ctx context.Context) (byState map[string]int64, leader bool, err error)

type jobsCollector struct {
	count   JobCounter
	timeout time.Duration
	logger  *slog.Logger
}

// JobsCollector exports the jobs-by-state gauge when, at scrape time, this
// replica leads River; other replicas export nothing for it. Every state
// in states is exported, 0 included, so a state that empties shows 0
// rather than vanishing.
func JobsCollector(count JobCounter, timeout time.Duration, logger *slog.Logger) prometheus.Collector {
	return jobsCollector{count: count, timeout: timeout, logger: logger}
}

// jobStates are the states the gauge exports.
var jobStates = []string{"available", "scheduled", "running", "retryable", "discarded", "cancelled"}

func (c jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	byState, leader, err := c.count(ctx)
	if err != nil {
		c.logger.Warn("metrics: count sync jobs", "err", err)
		return
	}
	if !leader {
		return
	}
	for _, st := range jobStates {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(byState[st]), st)
	}
}
