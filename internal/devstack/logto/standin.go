package logto

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"

	"reportgate/internal/devstack/control"
)

// The stand-in's own webhook controls served over HTTP under
// ControlPrefix, a path real Logto does not have, so a demo or an outside
// test needs no Go code. They take HTTP Basic with a machine-to-machine
// app's id and secret, the credentials that already reach the Management
// API.

// ControlPrefix is where the controls are served.
const ControlPrefix = control.Prefix

// webhookControl is the body of PUT /_standin/webhooks. With an event, it
// steers only that event's next delivery (drop, hold, delay; "deliver"
// releases it); without, it sets the standing mode for every delivery.
type webhookControl struct {
	Mode  WebhookMode `json:"mode"`
	Delay string      `json:"delay,omitempty"` // a Go duration such as "1s"
	Event string      `json:"event,omitempty"`
}

type webhookStatus struct {
	Mode       WebhookMode `json:"mode"`
	Delay      string      `json:"delay"`
	InFlight   int         `json:"in_flight"`  // started, not finished (held ones included)
	Deliveries int         `json:"deliveries"` // finished, dropped ones included
	Failed     int         `json:"failed"`
}

type releaseControl struct {
	Event string `json:"event,omitempty"`
}

func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ControlPrefix+"webhooks", s.controlled(func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, s.webhookStatus())
		return nil
	}))
	mux.HandleFunc("PUT "+ControlPrefix+"webhooks", s.controlled(func(w http.ResponseWriter, r *http.Request) error {
		var in webhookControl
		if err := control.Decode(r, &in); err != nil {
			return err
		}
		if err := s.hooks.apply(in); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.webhookStatus())
		return nil
	}))
	mux.HandleFunc("POST "+ControlPrefix+"webhooks/release", s.controlled(func(w http.ResponseWriter, r *http.Request) error {
		var in releaseControl
		if r.ContentLength != 0 {
			if err := control.Decode(r, &in); err != nil {
				return err
			}
		}
		if in.Event != "" {
			s.hooks.Release(in.Event)
		} else {
			s.hooks.ReleaseAll()
		}
		writeJSON(w, http.StatusOK, s.webhookStatus())
		return nil
	}))
}

// controlled requires a machine-to-machine app's id and secret (HTTP Basic)
// and answers a returned error as a 400.
func (s *Server) controlled(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		app, known := s.apps[id]
		if !ok || !known || app.Type != AppMachineToMachine ||
			subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="stand-in controls"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "machine-to-machine app credentials required"})
			return
		}
		if err := h(w, r); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
	}
}

func (s *Server) webhookStatus() webhookStatus {
	mode, delay := s.hooks.Mode()
	st := webhookStatus{Mode: mode, Delay: delay.String(), InFlight: s.hooks.InFlight()}
	st.Deliveries, st.Failed = s.hooks.Counts()
	return st
}

// apply carries out a PUT /_standin/webhooks.
func (w *Webhooks) apply(in webhookControl) error {
	var delay time.Duration
	if in.Delay != "" {
		d, err := control.Delay(in.Delay)
		if err != nil {
			return err
		}
		delay = d
	}
	switch in.Mode {
	case WebhooksDeliver, WebhooksDrop, WebhooksHold:
	default:
		return fmt.Errorf("mode must be deliver, drop or hold, not %q", in.Mode)
	}
	if in.Event == "" {
		w.SetMode(in.Mode, delay)
		return nil
	}
	switch in.Mode {
	case WebhooksDrop:
		w.DropNext(in.Event)
	case WebhooksHold:
		w.Hold(in.Event)
	case WebhooksDeliver:
		w.Release(in.Event)
	}
	if delay > 0 {
		w.Delay(in.Event, delay)
	}
	return nil
}
