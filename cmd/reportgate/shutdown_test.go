package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/handlers"
	"reportgate/internal/shutdown"
	"reportgate/static"
)

type pingOK struct{}

func (pingOK) PingContext(context.Context) error { return nil }

// fakeJobs is a shutdown.Jobs whose Stop blocks until release or its
// context ends.
type fakeJobs struct {
	called   chan struct{}
	release  chan struct{}
	returned atomic.Bool
	deadline time.Time
}

func (j *fakeJobs) Stop(ctx context.Context) error {
	j.deadline, _ = ctx.Deadline()
	close(j.called)
	defer j.returned.Store(true)
	select {
	case <-j.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// servingApp serves the real handlers (for /readyz) plus /slow, a request
// that is in flight until release is closed, and returns a shutdown plan
// for it.
func servingApp(t *testing.T, delay, timeout time.Duration, jobs shutdown.Jobs) (addr string, plan shutdown.Plan, slowStarted, slowRelease chan struct{}) {
	t.Helper()
	draining := new(atomic.Bool)
	h := handlers.New(handlers.Deps{
		Logger:   slog.New(slog.DiscardHandler),
		BaseURL:  &url.URL{Scheme: "http", Host: "app.test"},
		DB:       pingOK{},
		Draining: draining.Load,
		Assets:   static.New(),
	})
	slowStarted, slowRelease = make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		<-slowRelease
		w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		served <- err
	}()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), shutdown.Plan{Draining: draining, Delay: delay, Timeout: timeout,
		Server: srv, Served: served, Jobs: jobs}, slowStarted, slowRelease
}

// askStatus asks path (/readyz, /healthz) on a new connection: its status, or
// 0 if the connection was refused (the listener is closed).
func askStatus(t *testing.T, addr, path string) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestShutdownOrder: readiness fails (liveness does not) while the
// listener still accepts;
// then the listener closes while an in-flight request is still drained;
// jobs are stopped only after HTTP is done, and shutdown waits for them.
func TestShutdownOrder(t *testing.T) {
	t.Parallel()
	jobs := &fakeJobs{called: make(chan struct{}), release: make(chan struct{})}
	addr, plan, slowStarted, slowRelease := servingApp(t, 2*time.Second, 20*time.Second, jobs)
	if got := askStatus(t, addr, "/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d, want 200", got)
	}
	slow := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-slowStarted

	done := make(chan error, 1)
	go func() { done <- plan.Run() }()

	var first int
	pollUntil(t, "/readyz to stop answering 200", func() bool {
		first = askStatus(t, addr, "/readyz")
		return first != http.StatusOK
	})
	if first != http.StatusServiceUnavailable {
		t.Fatalf("first /readyz after the shutdown began = %d (0: refused), want 503 while the listener still accepts", first)
	}
	// Alive while draining: an orchestrator must not kill it for failing
	// liveness. (The delay still runs: the listener is open.)
	if got := askStatus(t, addr, "/healthz"); got != http.StatusOK {
		t.Errorf("/healthz while draining = %d, want 200", got)
	}
	pollUntil(t, "the listener to close", func() bool { return askStatus(t, addr, "/readyz") == 0 })
	select {
	case <-jobs.called:
		t.Fatal("jobs were stopped while an HTTP request was still being drained")
	default:
	}

	close(slowRelease)
	if got := <-slow; got != http.StatusOK {
		t.Errorf("in-flight request during shutdown = %d, want 200 (drained, not cut)", got)
	}
	<-jobs.called
	close(jobs.release)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if !jobs.returned.Load() {
		t.Error("shutdown returned before the running jobs had finished")
	}
}

// TestShutdownBoundsJobsByTimeout: jobs that never finish (their Stop is
// never released) are given a deadline, and shutdown returns once it
// passes instead of waiting for them.
func TestShutdownBoundsJobsByTimeout(t *testing.T) {
	t.Parallel()
	jobs := &fakeJobs{called: make(chan struct{}), release: make(chan struct{})}
	_, plan, _, _ := servingApp(t, 0, 300*time.Millisecond, jobs)
	err := plan.Run()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown = %v, want the jobs' deadline error", err)
	}
	if jobs.deadline.IsZero() {
		t.Error("jobs were stopped without a deadline")
	}
}
