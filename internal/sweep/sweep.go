// Package sweep runs the periodic deletions that reclaim space: expired
// sessions, and events, finished jobs and audit entries past their
// retention. Expiry is enforced wherever those rows are read; sweeping
// only keeps the tables from growing without end.
package sweep

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one periodic deletion.
type Job struct {
	// What names what Delete removes, for the log ("expired sessions").
	What  string
	Every time.Duration
	// Delete removes what has expired and says how many rows went (0
	// when it cannot tell).
	Delete func(context.Context) (int64, error)
}

// Run runs every job at once and then every job.Every, each on its own
// schedule, until ctx ends; it returns when the last run has. Failures are
// logged and retried at the next tick: a missed sweep costs only space.
func Run(ctx context.Context, logger *slog.Logger, jobs ...Job) {
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Go(func() { job.run(ctx, logger) })
	}
	wg.Wait()
}

func (j Job) run(ctx context.Context, logger *slog.Logger) {
	tick := time.NewTicker(j.Every)
	defer tick.Stop()
	for {
		if n, err := j.Delete(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("sweep "+j.What, "err", err)
		} else if n > 0 {
			logger.Info("swept "+j.What, "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
