package permit

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// FaultMode is a way the stand-in can misbehave, for tests of the app's
// failure handling.
type FaultMode int

const (
	// FaultNone answers normally.
	FaultNone FaultMode = iota
	// FaultSlow waits Fault.Delay (or until the client gives up) and then
	// answers normally.
	FaultSlow
	// Fault5xx answers 502 on the PDP (an OPA failure) and 500 on the API.
	Fault5xx
	// Fault429 answers 429 {"error":"rate_limited",...}, the Cloud PDP's
	// rate limit. The SDK's Check turns this into a silent deny.
	Fault429
	// FaultDown resets the connection without answering, so clients see a
	// transport error.
	FaultDown
)

// FaultScope selects which routes a Fault affects. The zero value is both.
type FaultScope int

const (
	ScopeAll FaultScope = iota
	ScopePDP
	ScopeAPI
)

// Fault describes injected misbehaviour.
type Fault struct {
	Mode  FaultMode
	Delay time.Duration // for FaultSlow
	Scope FaultScope
}

// SetFault makes later requests misbehave; SetFault(Fault{}) restores
// normal service.
func (s *Server) SetFault(f Fault) { s.fault.Store(&f) }

// SetPropagationDelay changes the delay applied to later writes.
func (s *Server) SetPropagationDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Flush makes every write so far visible to the PDP now, as if propagation
// had finished. Tests that do not study eventual consistency use it instead
// of waiting.
func (s *Server) Flush() { s.pdp.flush() }

// Counts is how many requests reached each route group, faults and auth
// failures included.
type Counts struct {
	Allowed         int64 // POST /allowed
	Bulk            int64 // POST /allowed/bulk
	AllTenants      int64 // POST /allowed/all-tenants
	UserPermissions int64 // POST /user-permissions
	API             int64 // every /v2/... request
}

type counters struct {
	allowed, bulk, allTenants, userPermissions, api atomic.Int64
}

// Counts returns the request counters, for benchmarks and tests that assert
// how many round trips a feature costs.
func (s *Server) Counts() Counts {
	return Counts{
		Allowed:         s.counts.allowed.Load(),
		Bulk:            s.counts.bulk.Load(),
		AllTenants:      s.counts.allTenants.Load(),
		UserPermissions: s.counts.userPermissions.Load(),
		API:             s.counts.api.Load(),
	}
}

// injectFault applies the current fault to a request on a route of the
// given scope. It reports whether the request has been answered (or
// dropped) and the caller must stop.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, scope FaultScope) bool {
	f := s.fault.Load()
	if f == nil || f.Mode == FaultNone || (f.Scope != ScopeAll && f.Scope != scope) {
		return false
	}
	switch f.Mode {
	case FaultSlow:
		// net/http notices a client hanging up (and cancels r.Context())
		// only once the body has been read, so buffer it first; the
		// normal handler then reads the copy.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// Answer normally afterwards, unless the client has gone.
		return !waitOrDone(r.Context(), f.Delay)
	case Fault5xx:
		if scope == ScopePDP {
			writeJSON(w, http.StatusBadGateway, map[string]string{"detail": "OPA request failed (injected fault)"})
		} else {
			writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "UNEXPECTED_ERROR",
				Title: "Internal Server Error", Message: "injected fault"})
		}
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error":   "rate_limited",
			"message": "Too many requests, please try again later (injected fault)",
		})
	case FaultDown:
		resetConnection(w)
	}
	return true
}

// resetConnection drops the TCP connection with a RST (SO_LINGER 0), so the
// client sees "connection reset by peer" rather than an HTTP answer.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a recorder: the closest we can do is abort the handler,
		// which makes net/http drop the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
