package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// jobStopper is the background work that outlives HTTP in a shutdown
// (provision.Service).
type jobStopper interface {
	Stop(ctx context.Context) error
}

// shutdownPlan stops the app in the order a load balancer needs:
//
//  1. /readyz answers 503 (draining), while the listener still accepts;
//  2. wait delay, so load balancers notice and stop sending;
//  3. close the listener and drain in-flight requests;
//  4. let running jobs finish;
//
// steps 3 and 4 sharing one timeout. Jobs are stopped last because
// requests still being drained may enqueue them, and a job cut short is
// retried later anyway.
type shutdownPlan struct {
	draining *atomic.Bool
	delay    time.Duration
	timeout  time.Duration
	server   *http.Server
	served   <-chan error // what server.Serve returned
	jobs     jobStopper
}

func (p shutdownPlan) run() error {
	p.draining.Store(true)
	time.Sleep(p.delay)
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	err := drain(ctx, p.server)
	if serveErr := <-p.served; err == nil {
		err = serveErr
	}
	if stopErr := p.jobs.Stop(ctx); err == nil {
		err = stopErr
	}
	return err
}
