// Package permit is a local stand-in for Permit.io: the subset of the REST
// API (facts and schema) and the PDP decision endpoints that reportgate and
// the permit-golang v1.2.8 SDK use, served together on one listener.
//
// It exists so development and tests run the real SDK, unchanged, against
// something that answers the way Permit does on the wire — shapes, status
// codes, error bodies, bare arrays versus paginated objects, required keys —
// and that decides the way Permit's RBAC does.
// It also reproduces the two behaviours that most often surprise an app:
// writes reach the PDP only after a propagation delay (OPAL), and the
// failure modes (slow, 5xx, 429, connection reset) that the SDK handles
// badly (a PDP 429 becomes a silent deny).
//
// One listener serves both: point the SDK's WithApiUrl and WithPdpUrl at the
// same base URL (no trailing slash: the SDK fails every API call with one).
// The paths do not collide.
//
// The environment has fixed keys: project "default", environment "dev"
// (ProjectKey, EnvironmentKey). Path segments accept either those keys or
// the 32-hex ids the scope call returns, as the real API does.
//
// It is wired in only by cmd in dev mode and by tests; it is not Permit.
package permit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"reportgate/internal/devstack/jsonlog"
)

// Keys of the stand-in's only project and environment. Paths may use these
// or the ids returned by GET /v2/api-key/scope.
const (
	ProjectKey     = "default"
	EnvironmentKey = "dev"
	// DefaultTenant exists from the start, as in every Permit environment.
	DefaultTenant = "default"
)

// Config configures a Server.
type Config struct {
	// APIKey is the Bearer token accepted on both the API and the PDP
	// routes: no Authorization header → 401, anything else → 403.
	APIKey string
	// Schema seeds the resources and roles when there is no persisted
	// state. Once state exists, the persisted schema wins, as a real
	// environment keeps its schema until `policy apply` changes it. New
	// checks it either way, and refuses what Permit would refuse.
	Schema Schema
	// DataDir, when set, keeps users, tenants, role assignments and the
	// schema in DataDir/permit-standin.jsonl (a log of writes) across
	// restarts. Empty means in memory only.
	DataDir string
	// PropagationDelay is how long after an API write the PDP starts to see
	// it (Permit is eventually consistent). Zero means immediately.
	PropagationDelay time.Duration
	// Now is the clock used for timestamps and propagation; nil means
	// time.Now. Tests pass a fake clock to step over the delay without
	// sleeping. It must be safe for concurrent use.
	Now func() time.Time
	// Logger receives a debug line per failed API request; nil discards.
	Logger *slog.Logger
}

// Server is the stand-in. Its handler is safe for concurrent use.
type Server struct {
	bearer  string // the Authorization header value that is accepted
	dataDir string
	now     func() time.Time
	log     *slog.Logger
	handler http.Handler

	mu      sync.Mutex // guards st, log and delay; held across a write and its logging
	st      *state
	journal *jsonlog.Log // nil when in memory only
	delay   time.Duration

	pdp pdpView

	fault  atomic.Pointer[Fault]
	counts counters
}

// New builds a Server, loading persisted state from cfg.DataDir if present
// and seeding the schema from cfg.Schema otherwise.
func New(cfg Config) (*Server, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("permit stand-in: APIKey is required")
	}
	s := &Server{
		bearer:  "Bearer " + cfg.APIKey,
		dataDir: cfg.DataDir,
		now:     cfg.Now,
		log:     cfg.Logger,
		delay:   cfg.PropagationDelay,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	seeded, err := newState(cfg.Schema, s.timestamp())
	if err != nil {
		return nil, fmt.Errorf("permit stand-in: %w", err)
	}
	if s.dataDir == "" {
		s.st = seeded
	} else {
		j, st, err := openJournal(s.dataDir, seeded)
		if err != nil {
			return nil, fmt.Errorf("permit stand-in: %w", err)
		}
		s.st, s.journal = st, j
	}
	// What was persisted had propagated before the restart.
	s.pdp.live = s.st.snapshot()
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler serving both the API and the PDP.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the log. Every acknowledged write is already in it, so a
// process that never calls Close loses nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.journal.Close()
}

// Scope returns the organization, project and environment ids that
// GET /v2/api-key/scope reports.
func (s *Server) Scope() (org, project, env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.OrgID, s.st.ProjectID, s.st.EnvID
}

func (s *Server) timestamp() time.Time {
	// Microseconds, UTC: what Permit returns, and it survives a JSON round
	// trip through the persisted file unchanged.
	return s.now().UTC().Truncate(time.Microsecond)
}

// newID returns a 32-hex id, the form the real API uses (UUID hex, no
// dashes).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// PDP. Everything is POST; the SDK sends no Accept header.
	mux.Handle("POST /allowed", s.pdpRoute(&s.counts.allowed, s.handleAllowed))
	mux.Handle("POST /allowed/bulk", s.pdpRoute(&s.counts.bulk, s.handleBulk))
	mux.Handle("POST /allowed/all-tenants", s.pdpRoute(&s.counts.allTenants, s.handleAllTenants))
	mux.Handle("POST /user-permissions", s.pdpRoute(&s.counts.userPermissions, s.handleUserPermissions))

	// API: the routes the SDKs call.
	api := func(pattern string, h apiHandler) { mux.Handle(pattern, s.apiRoute(h)) }
	api("GET /v2/api-key/scope", s.handleScope)

	const facts = "/v2/facts/{proj}/{env}"
	api("GET "+facts+"/users", s.env(s.listUsers))
	api("POST "+facts+"/users", s.env(s.createUser))
	api("GET "+facts+"/users/{user}", s.env(s.getUser))
	api("PATCH "+facts+"/users/{user}", s.env(s.updateUser))
	api("PUT "+facts+"/users/{user}", s.env(s.replaceUser))
	api("DELETE "+facts+"/users/{user}", s.env(s.deleteUser))
	api("POST "+facts+"/users/{user}/roles", s.env(s.assignUserRole))
	api("DELETE "+facts+"/users/{user}/roles", s.env(s.unassignUserRole))

	api("GET "+facts+"/tenants", s.env(s.listTenants))
	api("POST "+facts+"/tenants", s.env(s.createTenant))
	api("GET "+facts+"/tenants/{tenant}", s.env(s.getTenant))
	api("PATCH "+facts+"/tenants/{tenant}", s.env(s.updateTenant))
	api("DELETE "+facts+"/tenants/{tenant}", s.env(s.deleteTenant))
	api("GET "+facts+"/tenants/{tenant}/users", s.env(s.listTenantUsers))

	api("GET "+facts+"/role_assignments", s.env(s.listRoleAssignments))
	api("POST "+facts+"/role_assignments", s.env(s.assignRole))
	api("DELETE "+facts+"/role_assignments", s.env(s.unassignRole))
	api("POST "+facts+"/role_assignments/bulk", s.env(s.bulkAssign))
	api("DELETE "+facts+"/role_assignments/bulk", s.env(s.bulkUnassign))

	const schema = "/v2/schema/{proj}/{env}"
	api("GET "+schema+"/resources", s.env(s.listResources))
	api("POST "+schema+"/resources", s.env(s.createResource))
	api("GET "+schema+"/resources/{resource}", s.env(s.getResource))
	api("PATCH "+schema+"/resources/{resource}", s.env(s.updateResource))
	api("PUT "+schema+"/resources/{resource}", s.env(s.replaceResource))
	api("DELETE "+schema+"/resources/{resource}", s.env(s.deleteResource))

	api("GET "+schema+"/roles", s.env(s.listRoles))
	api("POST "+schema+"/roles", s.env(s.createRole))
	api("GET "+schema+"/roles/{role}", s.env(s.getRole))
	api("PATCH "+schema+"/roles/{role}", s.env(s.updateRole))
	api("DELETE "+schema+"/roles/{role}", s.env(s.deleteRole))
	api("POST "+schema+"/roles/{role}/permissions", s.env(s.addRolePermissions))
	api("DELETE "+schema+"/roles/{role}/permissions", s.env(s.removeRolePermissions))
	api("PUT "+schema+"/roles/{role}/parents/{parent}", s.env(s.addParentRole))
	api("DELETE "+schema+"/roles/{role}/parents/{parent}", s.env(s.removeParentRole))

	s.controlRoutes(mux)

	mux.HandleFunc("GET /{$}", s.index)

	// Anything else under the API answers like Permit: a JSON 404.
	api("/", func(http.ResponseWriter, *http.Request) error {
		return &apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Title: "Not Found",
			Message: "The requested URL was not found on the server."}
	})
	return mux
}

// apiHandler serves one API route; a returned error is rendered by
// writeError, the one place that maps errors to statuses and bodies.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) apiRoute(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.counts.api.Add(1)
		if s.injectFault(w, r, ScopeAPI) {
			return
		}
		if status := s.authorize(r); status != 0 {
			writeError(w, authError(status))
			return
		}
		if err := h(w, r); err != nil {
			s.log.Debug("permit stand-in: api error", "method", r.Method, "path", r.URL.Path, "err", err)
			writeError(w, err)
		}
	})
}

func (s *Server) pdpRoute(counter *atomic.Int64, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter.Add(1)
		if s.injectFault(w, r, ScopePDP) {
			return
		}
		// The PDP's Rust front answers auth failures in text/plain,
		// unlike the API's JSON error body.
		switch s.authorize(r) {
		case http.StatusUnauthorized:
			http.Error(w, "Missing Authorization header", http.StatusUnauthorized)
			return
		case http.StatusForbidden:
			http.Error(w, "Invalid PDP API key", http.StatusForbidden)
			return
		}
		h(w, r)
	})
}

// authorize returns 0 when the request carries the right Bearer token, else
// the status Permit answers with.
func (s *Server) authorize(r *http.Request) int {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		return http.StatusUnauthorized
	case h != s.bearer:
		return http.StatusForbidden
	}
	return 0
}

// env resolves the {proj}/{env} path segments, which may be keys or ids.
func (s *Server) env(h apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, proj, env := s.Scope()
		p, e := r.PathValue("proj"), r.PathValue("env")
		if p != ProjectKey && p != proj {
			return notFound("project", p)
		}
		if e != EnvironmentKey && e != env {
			return notFound("environment", e)
		}
		return h(w, r)
	}
}

func (s *Server) handleScope(w http.ResponseWriter, _ *http.Request) error {
	org, proj, env := s.Scope()
	writeJSON(w, http.StatusOK, map[string]string{
		"organization_id": org,
		"project_id":      proj,
		"environment_id":  env,
	})
	return nil
}

// write runs fn on the state under the lock. If fn succeeds, its changes
// are appended to the log before the caller answers, and queued for the
// PDP to see after the propagation delay; if fn fails, or the log cannot
// be written, its changes are undone.
func (s *Server) write(fn func(t *tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &tx{state: s.st, now: s.timestamp()}
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	changes := t.finish()
	if len(changes) == 0 {
		return nil
	}
	if s.journal != nil {
		if err := s.journal.Append(logLine{changes}); err != nil {
			t.rollback()
			return fmt.Errorf("persist state: %w", err)
		}
		if s.journal.Due() {
			// The write is already logged; a failed compaction only
			// leaves a longer log behind.
			s.journal.CompactInBackground(s.st.freeze(), func(err error) {
				s.log.Error("permit stand-in: compact state", "err", err)
			})
		}
	}
	now := s.now()
	s.pdp.publish(s.st.pdpChanges(changes), now.Add(s.delay), now)
	return nil
}

// respond runs a write whose fn returns the view to answer with.
func respond[V any](s *Server, w http.ResponseWriter, status int, fn func(t *tx) (V, error)) error {
	var view V
	err := s.write(func(t *tx) (err error) {
		view, err = fn(t)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, status, view)
	return nil
}

// respondNoContent runs a write and answers 204 with an empty body, as
// Permit's deletes do.
func (s *Server) respondNoContent(w http.ResponseWriter, fn func(t *tx) error) error {
	if err := s.write(fn); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// read runs fn on the current state under the lock.
func (s *Server) read(fn func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s.st)
}

// waitOrDone sleeps for d unless ctx ends first; it reports whether the
// full delay elapsed.
func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
