package loadtest

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawGetterReadsEveryFraming sends three requests over one connection
// to answers framed by Content-Length, by chunks and (last, as it ends the
// connection) by closing; each status must come back and the connection
// must be reused while the server allows it.
func TestRawGetterReadsEveryFraming(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "rg=1" || r.Header.Get("Accept-Encoding") != "gzip" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch n.Add(1) {
		case 1:
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("hello"))
		case 2:
			w.WriteHeader(http.StatusAccepted)
			for range 3 {
				w.Write([]byte(strings.Repeat("x", 100)))
				w.(http.Flusher).Flush() // forces chunked framing
			}
		default:
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("bye"))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/page?q=1")
	g := newRawGetter(u, 5*time.Second, "Cookie: rg=1", "Accept-Encoding: gzip")
	defer g.close()
	for i, want := range []int{200, 202, 418, 200} {
		if i == 3 {
			n.Store(0)
		}
		got, err := g.get()
		if err != nil || got != want {
			t.Fatalf("request %d: status %d, err %v; want %d", i+1, got, err, want)
		}
	}
	if c := conns.Load(); c != 2 {
		t.Errorf("%d connections, want 2 (one reused for three answers, a new one after Connection: close)", c)
	}
}

// TestRawGetterRefusesGarbage checks an answer that is not HTTP is an
// error, not a status.
func TestRawGetterRefusesGarbage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n"))
	}()
	g := newRawGetter(&url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"}, 5*time.Second)
	defer g.close()
	if code, err := g.get(); err == nil {
		t.Errorf("status %d and no error for a non-HTTP answer", code)
	}
}
