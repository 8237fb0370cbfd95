package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/session"
)

// peers records what a Store publishes and lets a test deliver what
// another replica would.
type peers struct {
	mu        sync.Mutex
	published []string
	handlers  map[string]func(string)
	resync    func()
}

func (p *peers) Publish(_ context.Context, topic, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, topic+" "+key)
	return nil
}

func (p *peers) Subscribe(topic string, fn func(string)) {
	if p.handlers == nil {
		p.handlers = map[string]func(string){}
	}
	p.handlers[topic] = fn
}

func (p *peers) OnResync(fn func()) { p.resync = fn }

func cachedStore(t *testing.T, db *database.DB, p *peers) *session.Store {
	t.Helper()
	store, err := session.NewStore(db, session.Options{Secret: secret, CacheTTL: time.Hour, Peers: p})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// signedIn reports whether cookie loads a session with a user.
func signedIn(t *testing.T, store *session.Store, cookie string) bool {
	t.Helper()
	_, ok := begin(t, store, cookie).ses.Values[session.UserIDKey]
	return ok
}

// removeRowsBehindTheStore deletes every session row without telling the
// store, so what it still serves can only come from its cache.
func removeRowsBehindTheStore(t *testing.T, db *database.DB) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), `DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
}

func TestCachedSessionEndsAtOnceWhereItEnded(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Run("RevokeUser", func(t *testing.T) {
			p := &peers{}
			store := cachedStore(t, db, p)
			cookie := create(t, store, map[any]any{session.UserIDKey: "u1"}).setCookie().Value
			if !signedIn(t, store, cookie) {
				t.Fatal("new session not signed in")
			}
			removeRowsBehindTheStore(t, db)
			if !signedIn(t, store, cookie) {
				t.Fatal("the row was not cached: this test cannot tell a dropped cache from a reload")
			}
			if _, err := store.RevokeUser(context.Background(), "u1"); err != nil {
				t.Fatal(err)
			}
			if signedIn(t, store, cookie) {
				t.Fatal("a revoked session is still served from the cache")
			}
			if len(p.published) != 1 || p.published[0] != "session-user u1" {
				t.Fatalf("published %q, want the revocation of u1", p.published)
			}
		})
		t.Run("Destroy", func(t *testing.T) {
			p := &peers{}
			store := cachedStore(t, db, p)
			cookie := create(t, store, map[any]any{session.UserIDKey: "u2"}).setCookie().Value
			q := begin(t, store, cookie) // caches the row
			if err := store.Destroy(q.r, q.w, q.ses); err != nil {
				t.Fatal(err)
			}
			if signedIn(t, store, cookie) {
				t.Fatal("a signed-out session is still served from the cache")
			}
			if len(p.published) != 1 {
				t.Fatalf("published %q, want the sign-out", p.published)
			}
		})
		t.Run("another replica's revocation and resync", func(t *testing.T) {
			p := &peers{}
			store := cachedStore(t, db, p)
			a := create(t, store, map[any]any{session.UserIDKey: "u3"}).setCookie().Value
			b := create(t, store, map[any]any{session.UserIDKey: "u4"}).setCookie().Value
			signedIn(t, store, a)
			signedIn(t, store, b)
			removeRowsBehindTheStore(t, db) // as the other replica's revocation did
			p.handlers["session-user"]("u3")
			if signedIn(t, store, a) {
				t.Fatal("a session revoked on another replica is still served")
			}
			if !signedIn(t, store, b) {
				t.Fatal("the notice about u3 dropped u4's cached session too: the cache is not in use")
			}
			p.resync()
			if signedIn(t, store, b) {
				t.Fatal("a resync left a cached session")
			}
		})
	})
}
