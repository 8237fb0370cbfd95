package session

import (
	"context"
	"sync"
	"time"
)

// Broadcaster tells the other replicas about ended sessions and delivers
// theirs; *broadcast.Bus implements it.
type Broadcaster interface {
	Publish(ctx context.Context, topic, key string) error
	Subscribe(topic string, fn func(key string))
	OnResync(fn func())
}

// Topics this package publishes: a session row that changed or is gone
// (key: its hash), and every session of a person revoked (key: user id).
const (
	topicSession = "session"
	topicUser    = "session-user"
)

// DefaultCacheSize bounds the row cache when Options.CacheSize is 0.
const DefaultCacheSize = 10_000

// cachedRow is a session row as read from the database.
type cachedRow struct {
	data                      []byte
	user                      string
	created, lastSeen, expiry int64 // Unix ms, as stored
	until                     time.Time
}

// rowCache keeps recently read session rows for a short time, so a page
// view need not read its row again. Every change a request makes goes to
// the database and drops the cached row; ends of sessions also reach the
// other replicas through a Broadcaster. A nil *rowCache caches nothing.
type rowCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]*cachedRow // by id hash
	// gen changes on every drop. A row read from the database in an older
	// generation may predate a sign-out or revocation, so it is not cached.
	gen uint64
}

func newRowCache(ttl time.Duration, max int) *rowCache {
	if ttl <= 0 {
		return nil
	}
	if max <= 0 {
		max = DefaultCacheSize
	}
	return &rowCache{ttl: ttl, max: max, m: make(map[string]*cachedRow)}
}

func (c *rowCache) get(hash string, now time.Time) (cachedRow, bool) {
	if c == nil {
		return cachedRow{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	row, ok := c.m[hash]
	if !ok {
		return cachedRow{}, false
	}
	if !now.Before(row.until) {
		delete(c.m, hash)
		return cachedRow{}, false
	}
	return *row, true
}

// generation is read before a database read and passed back to put.
func (c *rowCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *rowCache) put(hash string, row cachedRow, now time.Time, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.m[hash]; !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	row.until = now.Add(c.ttl)
	c.m[hash] = &row
}

// evict makes room: expired rows first, then any rows (map order), down to
// nine tenths of max so a full cache does not evict on every put. Called
// with mu held.
func (c *rowCache) evict(now time.Time) {
	for h, row := range c.m {
		if !now.Before(row.until) {
			delete(c.m, h)
		}
	}
	for h := range c.m {
		if len(c.m) < c.max*9/10+1 {
			break
		}
		delete(c.m, h)
	}
}

// touched records a new last-seen time of a cached row.
func (c *rowCache) touched(hash string, lastSeen time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if row, ok := c.m[hash]; ok {
		row.lastSeen = lastSeen.UnixMilli()
	}
}

// drop removes one row by its key: it follows every data change and
// sign-out, so it must not walk the cache as dropUser does.
func (c *rowCache) drop(hash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, hash)
}

func (c *rowCache) dropUser(user string) {
	c.dropWhere(func(_ string, row *cachedRow) bool { return row.user == user })
}

func (c *rowCache) dropAll() {
	c.dropWhere(func(string, *cachedRow) bool { return true })
}

// dropWhere removes the matching rows and starts a new generation. It
// walks the whole cache: it serves revocations and resyncs, which are rare
// next to page views, and the cache is bounded.
func (c *rowCache) dropWhere(match func(hash string, row *cachedRow) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, row := range c.m {
		if match(h, row) {
			delete(c.m, h)
		}
	}
}

// listen subscribes the cache to the other replicas' ends of sessions.
func (c *rowCache) listen(b Broadcaster) {
	if c == nil || b == nil {
		return
	}
	b.Subscribe(topicSession, c.drop)
	b.Subscribe(topicUser, c.dropUser)
	b.OnResync(c.dropAll)
}

// publish tells the other replicas; without a Broadcaster there are none.
func (s *Store) publish(ctx context.Context, topic, key string) error {
	if s.opts.Peers == nil {
		return nil
	}
	return s.opts.Peers.Publish(ctx, topic, key)
}
