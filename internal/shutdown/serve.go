package shutdown

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Servers are the app's HTTP servers while they run: the public one and,
// when it has a listener, the private metrics one.
type Servers struct {
	// Done receives what the public server's Serve returned. A caller
	// that takes the value before Stop must put it back: Stop waits for it.
	Done     chan error
	draining *atomic.Bool
	app      *http.Server
	metrics  *http.Server // nil when metrics are off
}

// Serve serves app on ln and, when metricsLn is not nil, metrics on
// metricsLn. draining is what app's /readyz reads; Stop sets it.
func Serve(draining *atomic.Bool, ln net.Listener, app http.Handler, metricsLn net.Listener, metrics http.Handler, logger *slog.Logger) *Servers {
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	s := &Servers{
		Done:     make(chan error, 1),
		draining: draining,
		app: &http.Server{
			Handler:           app,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          errorLog,
		},
	}
	go func() {
		err := s.app.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.Done <- err
	}()
	if metricsLn != nil {
		s.metrics = &http.Server{Handler: metrics, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, ErrorLog: errorLog}
		go func() {
			if err := s.metrics.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	return s
}

// Stop runs the Plan (readiness off, wait delay, drain HTTP, let jobs
// finish, the last two within timeout), then closes the metrics listener.
// The first error wins.
func (s *Servers) Stop(delay, timeout time.Duration, jobs Jobs) error {
	err := Plan{Draining: s.draining, Delay: delay, Timeout: timeout, Server: s.app, Served: s.Done, Jobs: jobs}.Run()
	if s.metrics != nil {
		// Scrapes are short; whatever is still open after a second goes.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if mErr := Drain(ctx, s.metrics); err == nil {
			err = mErr
		}
	}
	return err
}
