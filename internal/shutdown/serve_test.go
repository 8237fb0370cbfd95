package shutdown

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// stopped records that the jobs were stopped.
type stopped struct{ called bool }

func (j *stopped) Stop(context.Context) error { j.called = true; return nil }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func get(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestServersServeBothAndStopBoth(t *testing.T) {
	draining := new(atomic.Bool)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	ln, mln := listen(t), listen(t)
	s := Serve(draining, ln, app, mln, metrics, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if code, err := get("http://" + ln.Addr().String()); err != nil || code != http.StatusOK {
		t.Fatalf("app: %d %v", code, err)
	}
	if code, err := get("http://" + mln.Addr().String()); err != nil || code != http.StatusAccepted {
		t.Fatalf("metrics: %d %v", code, err)
	}
	jobs := &stopped{}
	if err := s.Stop(0, time.Second, jobs); err != nil {
		t.Fatal(err)
	}
	if !draining.Load() || !jobs.called {
		t.Errorf("draining %v, jobs stopped %v", draining.Load(), jobs.called)
	}
	for _, addr := range []string{ln.Addr().String(), mln.Addr().String()} {
		if _, err := get("http://" + addr); err == nil {
			t.Errorf("%s still answers after Stop", addr)
		}
	}
}

func TestServersWithoutMetrics(t *testing.T) {
	ln := listen(t)
	s := Serve(new(atomic.Bool), ln, http.NotFoundHandler(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Stop(0, time.Second, &stopped{}); err != nil {
		t.Fatal(err)
	}
}
