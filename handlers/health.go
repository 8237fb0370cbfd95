package handlers

import (
	"context"
	"net/http"
	"time"
)

type healthHandler struct {
	db       Pinger
	draining func() bool // nil: never
}

// live answers while the process serves HTTP.
func (h *healthHandler) live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// ready answers 200 when the database does; it deliberately ignores Logto
// and Permit, whose outages the pages handle themselves. From the start of
// a shutdown it answers 503 while the app still serves, so load balancers
// take it out of rotation before its listener closes.
func (h *healthHandler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.draining != nil && h.draining() {
		unready(w, "shutting down")
		return
	}
	if err := h.db.PingContext(ctx); err != nil {
		unready(w, "database unavailable")
		return
	}
	w.Write([]byte("ok\n"))
}

func unready(w http.ResponseWriter, reason string) {
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(reason + "\n"))
}
