package permit

import (
	"fmt"
	"net/http"
	"slices"

	"reportgate/internal/devstack/control"
)

// The stand-in's own controls — fault mode, propagation delay and request
// counts — served over HTTP under ControlPrefix, a path real Permit does
// not have, so a demo or an outside test needs no Go code. They take the
// same Bearer API key as everything else and are never subject to the
// injected fault, so "down" can be switched off again.

// ControlPrefix is where the controls are served.
const ControlPrefix = control.Prefix

// faultModes and faultScopes are the names the controls use, by value.
func faultModes() []string {
	return []string{FaultNone: "none", FaultSlow: "slow", Fault5xx: "5xx", Fault429: "429", FaultDown: "down"}
}
func faultScopes() []string { return []string{ScopeAll: "all", ScopePDP: "pdp", ScopeAPI: "api"} }

type faultJSON struct {
	Mode  string `json:"mode"`
	Delay string `json:"delay,omitempty"` // for "slow", a Go duration such as "2s"
	Scope string `json:"scope,omitempty"` // "all" (default), "pdp" or "api"
}

type propagationJSON struct {
	Delay   string `json:"delay"`
	Pending int    `json:"pending"` // writes the PDP does not see yet (read only)
}

type countsJSON struct {
	Allowed         int64 `json:"allowed"`
	Bulk            int64 `json:"bulk"`
	AllTenants      int64 `json:"all_tenants"`
	UserPermissions int64 `json:"user_permissions"`
	API             int64 `json:"api"`
}

func (s *Server) controlRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status := s.authorize(r); status != 0 {
				writeJSON(w, status, map[string]string{"error": http.StatusText(status)})
				return
			}
			if err := h(w, r); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			}
		}))
	}
	handle("GET "+ControlPrefix+"fault", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, s.faultJSON())
		return nil
	})
	handle("PUT "+ControlPrefix+"fault", func(w http.ResponseWriter, r *http.Request) error {
		var in faultJSON
		if err := control.Decode(r, &in); err != nil {
			return err
		}
		f, err := in.fault()
		if err != nil {
			return err
		}
		s.SetFault(f)
		writeJSON(w, http.StatusOK, s.faultJSON())
		return nil
	})
	handle("GET "+ControlPrefix+"propagation", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, s.propagationJSON())
		return nil
	})
	handle("PUT "+ControlPrefix+"propagation", func(w http.ResponseWriter, r *http.Request) error {
		var in propagationJSON
		if err := control.Decode(r, &in); err != nil {
			return err
		}
		d, err := control.Delay(in.Delay)
		if err != nil {
			return err
		}
		s.SetPropagationDelay(d)
		writeJSON(w, http.StatusOK, s.propagationJSON())
		return nil
	})
	handle("POST "+ControlPrefix+"propagation/flush", func(w http.ResponseWriter, _ *http.Request) error {
		s.Flush()
		writeJSON(w, http.StatusOK, s.propagationJSON())
		return nil
	})
	handle("GET "+ControlPrefix+"counts", func(w http.ResponseWriter, _ *http.Request) error {
		c := s.Counts()
		writeJSON(w, http.StatusOK, countsJSON{c.Allowed, c.Bulk, c.AllTenants, c.UserPermissions, c.API})
		return nil
	})
}

func (s *Server) faultJSON() faultJSON {
	f := Fault{}
	if p := s.fault.Load(); p != nil {
		f = *p
	}
	out := faultJSON{Mode: faultModes()[f.Mode], Scope: faultScopes()[f.Scope]}
	if f.Mode == FaultSlow {
		out.Delay = f.Delay.String()
	}
	return out
}

func (s *Server) propagationJSON() propagationJSON {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	return propagationJSON{Delay: d.String(), Pending: s.pdp.pending()}
}

func (in faultJSON) fault() (Fault, error) {
	var f Fault
	mode := slices.Index(faultModes(), in.Mode)
	if mode < 0 {
		return f, fmt.Errorf("mode must be none, slow, 5xx, 429 or down, not %q", in.Mode)
	}
	f.Mode = FaultMode(mode)
	if in.Scope != "" {
		scope := slices.Index(faultScopes(), in.Scope)
		if scope < 0 {
			return f, fmt.Errorf("scope must be all, pdp or api, not %q", in.Scope)
		}
		f.Scope = FaultScope(scope)
	}
	if f.Mode == FaultSlow {
		d, err := control.Delay(in.Delay)
		if err != nil {
			return f, err
		}
		f.Delay = d
	}
	return f, nil
}
