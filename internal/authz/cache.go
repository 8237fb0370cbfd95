package authz

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// decisionKey identifies one cached decision. Email and name are not part
// of it: Permit's RBAC decides on the user key alone.
type decisionKey struct {
	user, tenant, resource, action string
}

type cacheEntry struct {
	key     decisionKey
	allow   bool
	expires time.Time
}

// cache holds decisions for a short time. Allows and denies live in two
// lists, each in insertion order; since every entry of a list has the same
// TTL, that is also expiry order, so expired entries are always at the
// fronts and eviction is O(1). Size is bounded by max: when full, expired
// entries go first, then the entry closest to expiry.
type cache struct {
	allowTTL, denyTTL time.Duration
	max               int

	mu     sync.Mutex
	m      map[decisionKey]*list.Element // value: *cacheEntry
	allows list.List
	denies list.List
	// epoch changes on every forget. A PDP call started in an older epoch
	// may carry a decision made before a role change, so its result is not
	// stored, and callers after the forget do not join its flight.
	epoch uint64
}

func newCache(allowTTL, denyTTL time.Duration, max int) *cache {
	return &cache{allowTTL: allowTTL, denyTTL: denyTTL, max: max, m: make(map[decisionKey]*list.Element)}
}

func (c *cache) enabled() bool { return c.allowTTL > 0 || c.denyTTL > 0 }

// get returns a cached decision that has not expired at now.
func (c *cache) get(k decisionKey, now time.Time) (allow, ok bool) {
	if !c.enabled() {
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.m[k]
	if !found {
		return false, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return false, false
	}
	return e.allow, true
}

// currentEpoch is read before a PDP call and passed back to put.
func (c *cache) currentEpoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put stores a decision made by a PDP call that started in epoch. Errors are
// never passed here: only decisions are cached.
func (c *cache) put(k decisionKey, allow bool, now time.Time, epoch uint64) {
	ttl, l := c.denyTTL, &c.denies
	if allow {
		ttl, l = c.allowTTL, &c.allows
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if el, found := c.m[k]; found {
		c.remove(el)
	}
	c.makeRoom(now)
	c.m[k] = l.PushBack(&cacheEntry{key: k, allow: allow, expires: now.Add(ttl)})
}

// makeRoom evicts until one more entry fits. Called with mu held.
func (c *cache) makeRoom(now time.Time) {
	for _, l := range []*list.List{&c.allows, &c.denies} {
		for el := l.Front(); el != nil && !now.Before(el.Value.(*cacheEntry).expires); el = l.Front() {
			c.remove(el)
		}
	}
	for len(c.m) >= c.max {
		a, d := c.allows.Front(), c.denies.Front()
		switch {
		case a == nil:
			c.remove(d)
		case d == nil:
			c.remove(a)
		case d.Value.(*cacheEntry).expires.Before(a.Value.(*cacheEntry).expires):
			c.remove(d)
		default:
			c.remove(a)
		}
	}
}

// remove drops one entry. Called with mu held.
func (c *cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	delete(c.m, e.key)
	if e.allow {
		c.allows.Remove(el)
	} else {
		c.denies.Remove(el)
	}
}

// forget drops every decision about user and starts a new epoch. It walks
// the whole cache; it runs after a role change, which is rare, and the
// cache is bounded.
func (c *cache) forget(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, el := range c.m {
		if k.user == user {
			c.remove(el)
		}
	}
}

// forgetAll drops every decision and starts a new epoch, when Forgets from
// other replicas may have been missed.
func (c *cache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.m)
	c.allows.Init()
	c.denies.Init()
}

// Broadcaster carries Forget between replicas; *broadcast.Bus implements it.
type Broadcaster interface {
	Publish(ctx context.Context, topic, key string) error
	Subscribe(topic string, fn func(key string))
	OnResync(fn func())
}

// topicForget is the topic of Forget; its key is the user key.
const topicForget = "authz-forget"

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
