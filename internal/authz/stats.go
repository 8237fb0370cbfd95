package authz

import "sync/atomic"

// Stats is a snapshot of the Checker's counters, for metrics. Counters only
// grow; Waiting and CacheEntries are current values. PDP latency goes to
// Config.ObservePDP instead, as each call ends.
type Stats struct {
	// PDP requests sent to /allowed (the PDP duration histogram counts
	// every endpoint's), and how many PDP requests failed (transport error,
	// non-200, timeout, malformed reply).
	AllowedCalls int64
	PDPErrors    int64

	CacheHits   int64 // decisions answered from the cache
	CacheMisses int64 // decisions that needed the PDP
	Coalesced   int64 // misses that shared another caller's PDP call
	Waiting     int64 // callers waiting on a PDP call right now

	// Outcomes of decisions returned to callers.
	Allows      int64
	Denies      int64
	Unavailable int64

	CacheEntries int
}

type counters struct {
	allowedCalls, pdpErrors          atomic.Int64
	hits, misses, coalesced, waiting atomic.Int64
	allows, denies, unavailable      atomic.Int64
}

func (s *counters) countCall(path string) {
	if path == pathAllowed {
		s.allowedCalls.Add(1)
	}
}

func (s *counters) countOutcome(allow bool, err error) {
	switch {
	case err != nil:
		s.unavailable.Add(1)
	case allow:
		s.allows.Add(1)
	default:
		s.denies.Add(1)
	}
}

func (s *counters) snapshot() Stats {
	st := Stats{
		AllowedCalls: s.allowedCalls.Load(),
		PDPErrors:    s.pdpErrors.Load(),
		CacheHits:    s.hits.Load(),
		CacheMisses:  s.misses.Load(),
		Coalesced:    s.coalesced.Load(),
		Waiting:      s.waiting.Load(),
		Allows:       s.allows.Load(),
		Denies:       s.denies.Load(),
		Unavailable:  s.unavailable.Load(),
	}
	return st
}
