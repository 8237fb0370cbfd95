// Package shutdown stops a serving app in the order a load balancer needs.
package shutdown

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// Jobs is the background work that outlives HTTP in a shutdown
// (provision.Service).
type Jobs interface {
	Stop(ctx context.Context) error
}

// Plan stops the app in the order a load balancer needs:
//
//  1. /readyz answers 503 (Draining), while the listener still accepts;
//  2. wait Delay, so load balancers notice and stop sending;
//  3. close the listener and drain in-flight requests;
//  4. let running jobs finish;
//
// steps 3 and 4 sharing one Timeout. Jobs are stopped last because
// requests still being drained may enqueue them, and a job cut short is
// retried later anyway.
type Plan struct {
	Draining *atomic.Bool
	Delay    time.Duration
	Timeout  time.Duration
	Server   *http.Server
	Served   <-chan error // what Server.Serve returned
	Jobs     Jobs
}

// Run carries out the plan; the first error wins.
func (p Plan) Run() error {
	p.Draining.Store(true)
	time.Sleep(p.Delay)
	ctx, cancel := context.WithTimeout(context.Background(), p.Timeout)
	defer cancel()
	err := Drain(ctx, p.Server)
	if serveErr := <-p.Served; err == nil {
		err = serveErr
	}
	if stopErr := p.Jobs.Stop(ctx); err == nil {
		err = stopErr
	}
	return err
}

// Drain stops srv gracefully; connections still open when ctx ends (for
// example a browser's pre-opened sockets that never send a request) are
// closed rather than reported as a failed shutdown.
func Drain(ctx context.Context, srv *http.Server) error {
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return srv.Close()
	}
	return err
}
