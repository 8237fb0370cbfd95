package provision

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// blockingPermit is a fake Permit whose SyncUser waits for release or for
// its context to end, and records whether that context had ended.
func blockingPermit() (fp *fakePermit, entered, release chan struct{}, cancelled *atomic.Bool) {
	fp = newFakePermit()
	entered, release, cancelled = make(chan struct{}), make(chan struct{}), new(atomic.Bool)
	fp.SyncUserFunc = func(ctx context.Context, key, email, name string) error {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			cancelled.Store(true)
			return ctx.Err()
		}
		return nil
	}
	return fp, entered, release, cancelled
}

func startBlocked(t *testing.T, fp *fakePermit, entered chan struct{}, startCtx context.Context) *Service {
	t.Helper()
	cfg := testConfig(databasetest.Open(t, database.SQLite), fp)
	cfg.CallTimeout = 10 * time.Second // the test, not a deadline, ends the call
	s := newService(t, cfg, false)
	if err := s.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	createUntilPermit(t, s, "stop00000001", entered)
	return s
}

// TestStopLetsARunningJobFinish: the signal that starts a shutdown
// cancels the context Start was given; the job running then must not be
// cancelled, and Stop must wait for it.
func TestStopLetsARunningJobFinish(t *testing.T) {
	t.Parallel()
	fp, entered, release, cancelled := blockingPermit()
	startCtx, signal := context.WithCancel(context.Background())
	s := startBlocked(t, fp, entered, startCtx)

	signal() // SIGTERM
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if cancelled.Load() {
		t.Fatal("the running job was cancelled by the shutdown signal; want it to finish")
	}
	st, err := s.State(context.Background(), "stop00000001")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusSynced {
		t.Errorf("status after Stop = %s, want %s", st.Status, StatusSynced)
	}
}

// TestStopIsBoundedByItsContext: a job that does not finish is cancelled
// once Stop's context ends, and Stop reports that it ran out of time.
func TestStopIsBoundedByItsContext(t *testing.T) {
	t.Parallel()
	fp, entered, release, cancelled := blockingPermit()
	defer close(release)
	s := startBlocked(t, fp, entered, context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want a deadline error", err)
	}
	if !cancelled.Load() {
		t.Fatal("Stop returned with the job still running; want it cancelled once Stop's time ran out")
	}
}
