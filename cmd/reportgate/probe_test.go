package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	getenv := func(k string) string {
		if k == "REPORTGATE_ADDR" {
			return ":" + port
		}
		return ""
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"probe"}, getenv, &out, io.Discard); err != nil || out.String() != "ok\n" {
		t.Fatalf("ready app: err %v, out %q", err, out.String())
	}
	status.Store(http.StatusServiceUnavailable)
	if err := run(context.Background(), []string{"probe"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("draining app: err %v, want a 503 failure", err)
	}
	if err := run(context.Background(), []string{"probe", srv.URL + "/nope"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("probe of a 404 URL succeeded")
	}
}
