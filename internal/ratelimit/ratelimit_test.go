package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"reportgate/internal/testkit"
)

func TestLimiterRefusesTheRequestOverTheRateAndSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := New(60, 0, c.Now)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 60 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("61st request: allowed=%v wait=%v, want refused with a wait of at most 1s", ok, wait)
	}
	if ok, _ := l.Allow(b); !ok {
		t.Error("another client was refused")
	}
	c.Advance(time.Second)
	if ok, _ := l.Allow(a); !ok {
		t.Error("still refused after a token was back")
	}
}

func TestLimiterGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Unix(0, 0))
	l := New(1, 0, c.Now)
	l.Allow(netip.MustParseAddr("2001:db8::1"))
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8::2")); ok {
		t.Error("a second address in the same /64 got its own bucket")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Unix(0, 0))
	l := New(10, 100, c.Now)
	for i := range 1000 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := l.Clients(); n > 100 {
		t.Fatalf("%d clients remembered, cap 100", n)
	}
	// Idle clients (bucket full again) are forgotten.
	c.Advance(2 * time.Minute)
	l.Allow(netip.MustParseAddr("192.0.2.9"))
	if n := l.Clients(); n != 1 {
		t.Errorf("%d clients remembered after everyone went idle, want 1", n)
	}
}

func TestClientAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	c := Clients{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"no proxy", "192.0.2.1:4000", "", "192.0.2.1"},
		{"untrusted peer with a spoofed header", "192.0.2.1:4000", "198.51.100.7", "192.0.2.1"},
		{"trusted proxy", "10.0.0.2:4000", "198.51.100.7", "198.51.100.7"},
		{"client-written hops left of the real one are ignored", "10.0.0.2:4000", "203.0.113.5, 198.51.100.7", "198.51.100.7"},
		{"chain of trusted proxies", "10.0.0.2:4000", "198.51.100.7, 10.1.1.1", "198.51.100.7"},
		{"two header lines", "10.0.0.2:4000", "", "198.51.100.8"},
		{"garbage stops at the last trusted hop", "10.0.0.2:4000", "nonsense, 10.1.1.1", "10.1.1.1"},
		{"trusted proxy without a header", "10.0.0.2:4000", "", "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/sign-in", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.name == "two header lines" {
				r.Header.Add("X-Forwarded-For", "203.0.113.5")
				r.Header.Add("X-Forwarded-For", "198.51.100.8")
				tt.want = "198.51.100.8"
			}
			if got := c.Addr(r); got != netip.MustParseAddr(tt.want) {
				t.Errorf("Addr = %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkAllowManyClients is the cost of one decision with the client
// table near its cap.
func BenchmarkAllowManyClients(b *testing.B) {
	l := New(60, 0, nil)
	i := 0
	for b.Loop() {
		i++
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
}
