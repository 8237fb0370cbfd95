// Package ratelimit holds per-client request limits: who the client is
// (the peer, or the forwarded address when the peer is a trusted proxy) and
// a token bucket per client, bounded in memory.
package ratelimit

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// DefaultMaxClients bounds how many clients a Limiter remembers at once.
const DefaultMaxClients = 10_000

// Clients tells who sent a request.
type Clients struct {
	// Trusted are the proxies whose X-Forwarded-For is believed.
	Trusted []netip.Prefix
}

func (c Clients) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr is the client's address: the direct peer, unless the peer is a
// trusted proxy; then the right-most X-Forwarded-For address that is not
// itself a trusted proxy. Addresses left of that one were written by the
// client and prove nothing. The zero Addr means the peer is unknown.
func (c Clients) Addr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Addr().Unmap()
	if !c.trusted(client) {
		return client
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// Garbage from further left: the last trusted hop is the
			// best we know.
			return client
		}
		client = hop.Unmap()
		if !c.trusted(client) {
			return client
		}
	}
	return client
}

// Key groups an address into the unit a client controls: an IPv4 address,
// or an IPv6 /64 (one host usually holds a whole /64 and could rotate
// through it).
func Key(a netip.Addr) netip.Prefix {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	p, _ := a.Prefix(a.BitLen())
	return p
}

// Limiter allows PerMinute requests per minute per client, in bursts of up
// to PerMinute (a token bucket). It is safe for concurrent use.
type Limiter struct {
	perMinute  int
	maxClients int
	now        func() time.Time

	mu        sync.Mutex
	buckets   map[netip.Prefix]bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a Limiter; perMinute must be positive. now nil means
// time.Now; maxClients 0 means DefaultMaxClients.
func New(perMinute, maxClients int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	return &Limiter{perMinute: perMinute, maxClients: maxClients, now: now, buckets: map[netip.Prefix]bucket{}}
}

// Allow takes one token from the client's bucket. When it is empty it
// returns false and how long until a token is back.
func (l *Limiter) Allow(client netip.Addr) (bool, time.Duration) {
	key := Key(client)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxClients {
			// Sweeping is a pass over every client: under a flood of new
			// addresses do it at most once a second, not per request.
			if now.Sub(l.lastSweep) >= time.Second {
				l.sweep(now)
			}
			l.evictOne()
		}
		b = bucket{tokens: float64(l.perMinute), at: now}
	}
	b.tokens = l.refill(b, now)
	b.at = now
	if b.tokens < 1 {
		l.buckets[key] = b
		wait := time.Duration((1 - b.tokens) * float64(time.Minute) / float64(l.perMinute))
		return false, wait
	}
	b.tokens--
	l.buckets[key] = b
	return true, 0
}

// Clients is how many clients are remembered now.
func (l *Limiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) refill(b bucket, now time.Time) float64 {
	elapsed := max(now.Sub(b.at), 0)
	return math.Min(float64(l.perMinute), b.tokens+elapsed.Minutes()*float64(l.perMinute))
}

// sweep forgets clients whose bucket has refilled: remembering them changes
// nothing.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.refill(b, now) >= float64(l.perMinute) {
			delete(l.buckets, k)
		}
	}
}

// evictOne makes room when every remembered client is still active (many
// addresses at once): an arbitrary one starts afresh, which is better than
// refusing clients never seen.
func (l *Limiter) evictOne() {
	if len(l.buckets) < l.maxClients {
		return
	}
	for k := range l.buckets {
		delete(l.buckets, k)
		return
	}
}

// PerClient limits requests by client address.
type PerClient struct {
	Clients Clients
	Limiter *Limiter
}

// Allow reports whether r's client may go on and, if not, how long until it
// may.
func (p PerClient) Allow(r *http.Request) (bool, time.Duration) {
	return p.Limiter.Allow(p.Clients.Addr(r))
}
