package session_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/session"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// app is a tiny server over the store: /set?k=v stores a value, /get?k
// reads it, /renew, /destroy, /login?user=u.
type app struct {
	srv   *httptest.Server
	store *session.Store
	clock *clock
	db    *database.DB
}

func newApp(t *testing.T, db *database.DB, secure bool) *app {
	t.Helper()
	c := &clock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	store, err := session.NewStore(db, session.Options{
		Secret: []byte(strings.Repeat("x", 32)), Secure: secure, Now: c.Now,
		IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, TouchInterval: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	handle := func(fn func(w http.ResponseWriter, r *http.Request, s *session.Store)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { fn(w, r, store) }
	}
	mux.Handle("/set", handle(func(w http.ResponseWriter, r *http.Request, st *session.Store) {
		s, _ := st.Get(r, "s")
		for k, v := range r.URL.Query() {
			s.Values[k] = v[0]
		}
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	mux.Handle("/get", handle(func(w http.ResponseWriter, r *http.Request, st *session.Store) {
		s, _ := st.Get(r, "s")
		v, _ := s.Values[r.URL.Query().Get("k")].(string)
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
		w.Write([]byte(v))
	}))
	mux.Handle("/renew", handle(func(w http.ResponseWriter, r *http.Request, st *session.Store) {
		s, _ := st.Get(r, "s")
		if err := st.Renew(r, w, s); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	mux.Handle("/destroy", handle(func(w http.ResponseWriter, r *http.Request, st *session.Store) {
		s, _ := st.Get(r, "s")
		if err := st.Destroy(r, w, s); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	a := &app{srv: httptest.NewServer(mux), store: store, clock: c, db: db}
	t.Cleanup(a.srv.Close)
	return a
}

type client struct {
	t   *testing.T
	a   *app
	jar *cookiejar.Jar
	hc  *http.Client
}

func (a *app) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, a: a, jar: jar, hc: &http.Client{Jar: jar}}
}

func (c *client) get(path string) (string, *http.Response) {
	c.t.Helper()
	resp, err := c.hc.Get(c.a.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		c.t.Fatalf("%s: %d %s", path, resp.StatusCode, b.String())
	}
	return b.String(), resp
}

func (c *client) cookie() *http.Cookie {
	u, _ := url.Parse(c.a.srv.URL)
	for _, k := range c.jar.Cookies(u) {
		if k.Name == "reportgate_session" {
			return k
		}
	}
	return nil
}

func (c *client) withCookie(value string) *client {
	other := c.a.client(c.t)
	u, _ := url.Parse(c.a.srv.URL)
	other.jar.SetCookies(u, []*http.Cookie{{Name: "reportgate_session", Value: value, Path: "/"}})
	return other
}

func lastSeen(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var v int64
	if err := db.QueryRowContext(context.Background(), `SELECT MAX(last_seen_at) FROM sessions`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func rows(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sessions`).Scan(&n)
	return n
}

func TestStore(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Run("round trip and cookie flags", func(t *testing.T) {
			a := newApp(t, db, true)
			c := a.client(t)
			_, resp := c.get("/set?greeting=h%C3%A9llo+%3Cworld%3E")
			var set *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == "reportgate_session" {
					set = k
				}
			}
			if set == nil || !set.HttpOnly || !set.Secure || set.SameSite != http.SameSiteLaxMode || set.Path != "/" {
				t.Fatalf("cookie %+v", set)
			}
			// The jar drops Secure cookies over http; present it by hand.
			if got, _ := c.withCookie(set.Value).get("/get?k=greeting"); got != "héllo <world>" {
				t.Fatalf("got %q", got)
			}
			if strings.Contains(set.Value, "llo") {
				t.Fatal("cookie carries session data")
			}
		})
		t.Run("anonymous visit writes nothing", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect), false)
			c := a.client(t)
			c.get("/get?k=x")
			if c.cookie() != nil || rows(t, a.db) != 0 {
				t.Fatal("an empty session created a row or cookie")
			}
		})
		t.Run("tampered and unknown cookies give a fresh session", func(t *testing.T) {
			a := newApp(t, db, false)
			c := a.client(t)
			c.get("/set?k=secret")
			v := c.cookie().Value
			id, sig, _ := strings.Cut(v, ".")
			flipped := []byte(sig)
			flipped[0] ^= 1
			for name, value := range map[string]string{
				"tampered signature": id + "." + string(flipped),
				"other id":           strings.Repeat("A", 43) + "." + sig,
				"garbage":            "not-a-session",
			} {
				if got, _ := c.withCookie(value).get("/get?k=k"); got != "" {
					t.Errorf("%s: read %q", name, got)
				}
			}
		})
		t.Run("renew changes the id and kills the old one", func(t *testing.T) {
			a := newApp(t, db, false)
			c := a.client(t)
			c.get("/set?k=v")
			old := c.cookie().Value
			c.get("/renew")
			if c.cookie().Value == old {
				t.Fatal("renew kept the id")
			}
			if got, _ := c.get("/get?k=k"); got != "v" {
				t.Fatalf("data lost on renew: %q", got)
			}
			if got, _ := c.withCookie(old).get("/get?k=k"); got != "" {
				t.Fatal("the pre-renew id still loads the session")
			}
		})
		t.Run("destroy", func(t *testing.T) {
			a := newApp(t, db, false)
			c := a.client(t)
			c.get("/set?k=v")
			old := c.cookie().Value
			c.get("/destroy")
			if got, _ := c.withCookie(old).get("/get?k=k"); got != "" {
				t.Fatal("destroyed session still loads")
			}
		})
		t.Run("revoke user", func(t *testing.T) {
			a := newApp(t, db, false)
			alice1, alice2, bob := a.client(t), a.client(t), a.client(t)
			alice1.get("/set?user_id=alice&k=1")
			alice2.get("/set?user_id=alice&k=2")
			bob.get("/set?user_id=bob&k=3")
			n, err := a.store.RevokeUser(context.Background(), "alice")
			if err != nil || n != 2 {
				t.Fatalf("revoked %d, %v", n, err)
			}
			if got, _ := alice1.get("/get?k=k"); got != "" {
				t.Error("alice's session survived")
			}
			if got, _ := bob.get("/get?k=k"); got != "3" {
				t.Error("bob's session was revoked")
			}
		})
		t.Run("idle and absolute expiry", func(t *testing.T) {
			a := newApp(t, db, false)
			idle := a.client(t)
			idle.get("/set?k=v")
			a.clock.Advance(59 * time.Minute)
			if got, _ := idle.get("/get?k=k"); got != "v" {
				t.Fatal("expired before the idle timeout")
			}
			a.clock.Advance(61 * time.Minute)
			if got, _ := idle.get("/get?k=k"); got != "" {
				t.Fatal("alive after an hour idle")
			}
			busy := a.client(t)
			busy.get("/set?k=v")
			for range 27 { // 24¾ hours of steady use
				a.clock.Advance(55 * time.Minute)
				busy.get("/get?k=k")
			}
			if got, _ := busy.get("/get?k=k"); got != "" {
				t.Fatal("alive past the absolute timeout")
			}
			n, err := a.store.DeleteExpired(context.Background())
			if err != nil || n == 0 {
				t.Errorf("DeleteExpired = %d, %v", n, err)
			}
		})
		t.Run("last seen written at most once per interval", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect), false)
			c := a.client(t)
			c.get("/set?k=v")
			first := lastSeen(t, a.db)
			for range 10 {
				a.clock.Advance(5 * time.Second)
				c.get("/get?k=k")
			}
			if got := lastSeen(t, a.db); got != first {
				t.Fatalf("last_seen written within the touch interval (%d → %d)", first, got)
			}
			a.clock.Advance(15 * time.Second)
			c.get("/get?k=k")
			if got := lastSeen(t, a.db); got == first {
				t.Fatal("last_seen not refreshed after the interval")
			}
		})
		t.Run("concurrent requests", func(t *testing.T) {
			a := newApp(t, db, false)
			c := a.client(t)
			c.get("/set?k=v")
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 0 {
						c.get("/get?k=k")
					} else {
						c.get("/set?n=x")
					}
				}()
			}
			wg.Wait()
			if got, _ := c.get("/get?k=k"); got != "v" {
				t.Fatalf("lost data under concurrency: %q", got)
			}
		})
	})
}

func TestShortSecretRefused(t *testing.T) {
	db := databasetest.Open(t, database.SQLite)
	if _, err := session.NewStore(db, session.Options{Secret: []byte("short")}); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

func BenchmarkStore(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := databasetest.Open(b, d)
			store, err := session.NewStore(db, session.Options{Secret: []byte(strings.Repeat("x", 32))})
			if err != nil {
				b.Fatal(err)
			}
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/", nil)
			s, _ := store.New(r, "s")
			s.Values["logto_id_token"] = strings.Repeat("t", 900)
			s.Values["logto_refresh_token"] = strings.Repeat("r", 43)
			if err := s.Save(r, rec); err != nil {
				b.Fatal(err)
			}
			cookie := rec.Result().Cookies()[0]
			b.Run("unchanged", func(b *testing.B) {
				for b.Loop() {
					r := httptest.NewRequest("GET", "/", nil)
					r.AddCookie(cookie)
					s, err := store.New(r, "s")
					if err != nil || s.IsNew {
						b.Fatal("session not loaded", err)
					}
					if err := s.Save(r, httptest.NewRecorder()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("changed", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					r := httptest.NewRequest("GET", "/", nil)
					r.AddCookie(cookie)
					s, _ := store.New(r, "s")
					s.Values["n"] = strings.Repeat("n", i%7)
					if err := s.Save(r, httptest.NewRecorder()); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
