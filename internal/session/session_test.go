package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/session"
	"reportgate/internal/testkit"
)

const (
	idle     = time.Hour
	absolute = 24 * time.Hour
	touch    = time.Minute
)

var secret = []byte(strings.Repeat("x", 32))

func newStore(t testing.TB, db *database.DB, secure bool) (*session.Store, *testkit.Clock) {
	t.Helper()
	c := testkit.NewClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	store, err := session.NewStore(db, session.Options{
		Secret: secret, Secure: secure, Now: c.Now,
		IdleTimeout: idle, AbsoluteTimeout: absolute, TouchInterval: touch,
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, c
}

// app is a tiny server over the store: /set?k=v stores values, /get?k=name
// reads one, /clear empties the session, /renew, /destroy.
type app struct {
	srv   *httptest.Server
	store *session.Store
	clock *testkit.Clock
	db    *database.DB
}

func newApp(t *testing.T, db *database.DB) *app {
	t.Helper()
	store, c := newStore(t, db, false)
	mux := http.NewServeMux()
	handle := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "s")
			if err == nil {
				err = fn(w, r, s)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	handle("/set", func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error {
		for k, v := range r.URL.Query() {
			s.Values[k] = v[0]
		}
		return s.Save(r, w)
	})
	handle("/get", func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error {
		v, _ := s.Values[r.URL.Query().Get("k")].(string)
		if err := s.Save(r, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, v)
		return err
	})
	handle("/clear", func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error {
		clear(s.Values) // as handlers do when Logto ends a sign-in
		return s.Save(r, w)
	})
	handle("/renew", func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error {
		return store.Renew(r, w, s)
	})
	handle("/destroy", func(w http.ResponseWriter, r *http.Request, s *sessions.Session) error {
		return store.Destroy(r, w, s)
	})
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
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, a: a, jar: jar, hc: &http.Client{Jar: jar}}
}

// get fetches path and returns the body; t may be another goroutine's.
func (c *client) get(path string) string {
	resp, err := c.hc.Get(c.a.srv.URL + path)
	if err != nil {
		c.t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Errorf("%s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return string(body)
}

func (c *client) cookie() string {
	u, _ := url.Parse(c.a.srv.URL)
	for _, k := range c.jar.Cookies(u) {
		if k.Name == c.a.store.CookieName() {
			return k.Value
		}
	}
	return ""
}

// withCookie is a new client presenting value as its session cookie.
func (c *client) withCookie(value string) *client {
	other := c.a.client(c.t)
	u, _ := url.Parse(c.a.srv.URL)
	other.jar.SetCookies(u, []*http.Cookie{{Name: c.a.store.CookieName(), Value: value, Path: "/"}})
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

func rows(t testing.TB, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// request is one request through the store API, for tests that need to
// interleave steps inside a request.
type request struct {
	r     *http.Request
	w     *httptest.ResponseRecorder
	ses   *sessions.Session
	store *session.Store
}

// begin starts a request presenting cookie as the store's session cookie.
func begin(t testing.TB, store *session.Store, cookie string) *request {
	t.Helper()
	var cookies []*http.Cookie
	if cookie != "" {
		cookies = append(cookies, &http.Cookie{Name: store.CookieName(), Value: cookie})
	}
	return beginWith(t, store, cookies...)
}

// beginWith starts a request carrying cookies.
func beginWith(t testing.TB, store *session.Store, cookies ...*http.Cookie) *request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	s, err := store.Get(r, "s")
	if err != nil {
		t.Fatal(err)
	}
	return &request{r: r, w: httptest.NewRecorder(), ses: s, store: store}
}

func (q *request) save() error { return q.ses.Save(q.r, q.w) }

// setCookie is the session cookie the response set, nil if none.
func (q *request) setCookie() *http.Cookie { return q.setCookieNamed(q.store.CookieName()) }

func (q *request) setCookieNamed(name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range q.w.Result().Cookies() {
		if c.Name == name {
			found = c // the last one is the one a browser keeps
		}
	}
	return found
}

// create saves a new session holding values and returns that request.
func create(t testing.TB, store *session.Store, values map[any]any) *request {
	t.Helper()
	q := begin(t, store, "")
	for k, v := range values {
		q.ses.Values[k] = v
	}
	if err := q.save(); err != nil {
		t.Fatal(err)
	}
	return q
}

func TestStore(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		t.Run("round trip through a browser", func(t *testing.T) {
			a := newApp(t, db)
			c := a.client(t)
			c.get("/set?greeting=h%C3%A9llo+%3Cworld%3E")
			if got := c.get("/get?k=greeting"); got != "héllo <world>" {
				t.Fatalf("got %q", got)
			}
			if got := a.client(t).get("/get?k=greeting"); got != "" {
				t.Fatalf("a cookieless visitor read %q", got)
			}
		})
		t.Run("cookie flags", func(t *testing.T) {
			for _, secure := range []bool{false, true} {
				store, _ := newStore(t, db, secure)
				c := create(t, store, map[any]any{"k": "llama"}).setCookie()
				if c == nil || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode ||
					c.Path != "/" || c.MaxAge != int(absolute/time.Second) {
					t.Fatalf("secure=%v: cookie %+v", secure, c)
				}
				if strings.Contains(c.Value, "llama") {
					t.Fatal("cookie carries session data")
				}
			}
		})
		t.Run("database holds a hash, not the cookie id", func(t *testing.T) {
			own := databasetest.Open(t, db.Dialect)
			store, _ := newStore(t, own, false)
			q := create(t, store, map[any]any{"k": "v"})
			id, _, _ := strings.Cut(q.setCookie().Value, ".")
			sum := sha256.Sum256([]byte(id))
			var stored string
			if err := own.QueryRowContext(context.Background(), `SELECT id FROM sessions`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != hex.EncodeToString(sum[:]) || q.ses.ID != stored {
				t.Fatalf("row id %q, Session.ID %q, want sha256 of the cookie id", stored, q.ses.ID)
			}
		})
		t.Run("anonymous visit writes nothing", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect))
			c := a.client(t)
			c.get("/get?k=x")
			if c.cookie() != "" || rows(t, a.db) != 0 {
				t.Fatal("an empty session created a row or cookie")
			}
		})
		t.Run("tampered and unknown cookies give a fresh session", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect))
			c := a.client(t)
			c.get("/set?k=secret")
			v := c.cookie()
			id, sig, _ := strings.Cut(v, ".")
			flipped := []byte(sig)
			flipped[0] ^= 1
			other, _ := session.NewStore(a.db, session.Options{Secret: []byte(strings.Repeat("y", 32))})
			forged := create(t, other, map[any]any{"k": "forged"}).setCookie().Value
			for name, value := range map[string]string{
				"tampered signature":   id + "." + string(flipped),
				"other id":             strings.Repeat("A", 43) + "." + sig,
				"signed by other key":  forged,
				"no signature":         id,
				"garbage":              "not-a-session",
				"signature moved over": sig + "." + id,
			} {
				if got := c.withCookie(value).get("/get?k=k"); got != "" {
					t.Errorf("%s: read %q", name, got)
				}
			}
			// A correctly signed id with no row (deleted server-side).
			if _, err := a.db.ExecContext(context.Background(), `DELETE FROM sessions`); err != nil {
				t.Fatal(err)
			}
			q := begin(t, a.store, v)
			if !q.ses.IsNew || len(q.ses.Values) != 0 || q.ses.ID != "" {
				t.Fatalf("unknown id loaded: new=%v values=%v", q.ses.IsNew, q.ses.Values)
			}
		})
		t.Run("unreadable data signs out and leaves the row", func(t *testing.T) {
			for name, data := range map[string][]byte{
				// The format of the first version of this store.
				"old JSON": []byte(`{"k":"v"}`),
				// A version a later release may write.
				"unknown version": {0x7f, 1, 1, 'k', 's', 1, 'v'},
			} {
				own := databasetest.Open(t, db.Dialect)
				store, _ := newStore(t, own, false)
				q := create(t, store, map[any]any{"k": "v"})
				if _, err := own.ExecContext(context.Background(), `UPDATE sessions SET data = $1`, data); err != nil {
					t.Fatal(err)
				}
				got := begin(t, store, q.setCookie().Value)
				if !got.ses.IsNew || got.ses.ID != "" || len(got.ses.Values) != 0 {
					t.Fatalf("%s: read as new=%v id=%q values=%v, want signed out", name, got.ses.IsNew, got.ses.ID, got.ses.Values)
				}
				// Saving this request's (empty) session must not touch the row.
				if err := got.save(); err != nil {
					t.Fatal(err)
				}
				var stored []byte
				if err := own.QueryRowContext(context.Background(), `SELECT data FROM sessions`).Scan(&stored); err != nil {
					t.Fatalf("%s: the row is gone: %v", name, err)
				}
				if string(stored) != string(data) {
					t.Fatalf("%s: row data rewritten to %q", name, stored)
				}
			}
		})
		t.Run("renew changes the id and kills the old one", func(t *testing.T) {
			a := newApp(t, db)
			c := a.client(t)
			c.get("/set?k=v")
			old := c.cookie()
			c.get("/renew")
			if c.cookie() == old || c.cookie() == "" {
				t.Fatal("renew kept the id")
			}
			if got := c.get("/get?k=k"); got != "v" {
				t.Fatalf("data lost on renew: %q", got)
			}
			if got := c.withCookie(old).get("/get?k=k"); got != "" {
				t.Fatal("the pre-renew id still loads the session")
			}
		})
		t.Run("destroy", func(t *testing.T) {
			a := newApp(t, db)
			c := a.client(t)
			c.get("/set?k=v")
			old := c.cookie()
			c.get("/destroy")
			if c.cookie() != "" {
				t.Fatal("cookie not expired")
			}
			if got := c.withCookie(old).get("/get?k=k"); got != "" {
				t.Fatal("destroyed session still loads")
			}
		})
		t.Run("clearing values is saved and destroy still finds the row", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect))
			c := a.client(t)
			c.get("/set?k=token")
			c.get("/clear")
			if got := c.get("/get?k=k"); got != "" {
				t.Fatalf("cleared session still holds %q", got)
			}
			q := begin(t, a.store, c.cookie())
			clear(q.ses.Values)
			if err := a.store.Destroy(q.r, q.w, q.ses); err != nil {
				t.Fatal(err)
			}
			if n := rows(t, a.db); n != 0 {
				t.Fatalf("%d rows after destroying a cleared session", n)
			}
		})
		t.Run("revoke user", func(t *testing.T) {
			a := newApp(t, db)
			alice1, alice2, bob := a.client(t), a.client(t), a.client(t)
			alice1.get("/set?user_id=alice&k=1")
			alice2.get("/set?user_id=alice&k=2")
			bob.get("/set?user_id=bob&k=3")
			n, err := a.store.RevokeUser(context.Background(), "alice")
			if err != nil || n != 2 {
				t.Fatalf("revoked %d, %v", n, err)
			}
			if alice1.get("/get?k=k") != "" || alice2.get("/get?k=k") != "" {
				t.Error("alice's session survived")
			}
			if got := bob.get("/get?k=k"); got != "3" {
				t.Error("bob's session was revoked")
			}
			if n, err := a.store.RevokeUser(context.Background(), ""); n != 0 || err != nil {
				t.Errorf(`RevokeUser("") = %d, %v`, n, err)
			}
		})
		t.Run("a save never resurrects a revoked session", func(t *testing.T) {
			own := databasetest.Open(t, db.Dialect)
			store, _ := newStore(t, own, false)
			q := begin(t, store, create(t, store, map[any]any{session.UserIDKey: "carol"}).setCookie().Value)
			if _, err := store.RevokeUser(context.Background(), "carol"); err != nil {
				t.Fatal(err)
			}
			q.ses.Values["late"] = "write"
			if err := q.save(); err != nil {
				t.Fatal(err)
			}
			if n := rows(t, own); n != 0 {
				t.Fatal("the late save recreated the revoked session")
			}
			if c := q.setCookie(); c == nil || c.MaxAge >= 0 {
				t.Fatalf("cookie not expired: %+v", c)
			}
		})
		t.Run("idle and absolute expiry", func(t *testing.T) {
			a := newApp(t, db)
			c := a.client(t)
			c.get("/set?k=v")
			a.clock.Advance(idle)
			if got := c.get("/get?k=k"); got != "v" {
				t.Fatal("dead at exactly the idle timeout")
			}
			a.clock.Advance(idle + time.Millisecond)
			if got := c.get("/get?k=k"); got != "" {
				t.Fatal("alive after the idle timeout")
			}

			busy := a.client(t)
			busy.get("/set?k=v")
			for range 24 { // steady use, never idle, up to the absolute limit
				a.clock.Advance(absolute / 24)
				if got := busy.get("/get?k=k"); got != "v" {
					t.Fatal("an active session died before the absolute timeout")
				}
			}
			a.clock.Advance(time.Millisecond)
			if got := busy.get("/get?k=k"); got != "" {
				t.Fatal("alive past the absolute timeout")
			}
		})
		t.Run("delete expired", func(t *testing.T) {
			own := databasetest.Open(t, db.Dialect)
			store, clk := newStore(t, own, false)
			start := func() string { return create(t, store, map[any]any{"k": "v"}).setCookie().Value }
			// busy is used every half hour (never idle) until 23.5h, then
			// outlives its absolute limit unused for half an hour; idler
			// starts at 22h and is idle for two hours; fresh starts at 23.5h.
			busy := start()
			for step := 1; step <= 47; step++ {
				clk.Advance(idle / 2)
				if step == 44 {
					start()
				}
				if err := begin(t, store, busy).save(); err != nil {
					t.Fatal(err)
				}
			}
			start()
			clk.Advance(idle/2 + time.Millisecond)
			n, err := store.DeleteExpired(context.Background())
			if left := rows(t, own); err != nil || n != 2 || left != 1 {
				t.Fatalf("DeleteExpired = %d, %v; %d rows left, want 2 deleted, 1 left", n, err, left)
			}
		})
		t.Run("a shortened absolute timeout applies to existing sessions", func(t *testing.T) {
			own := databasetest.Open(t, db.Dialect)
			long, clk := newStore(t, own, false)
			q := begin(t, long, "")
			q.ses.Values["k"] = "v"
			if err := q.save(); err != nil {
				t.Fatal(err)
			}
			short, err := session.NewStore(own, session.Options{Secret: secret, Now: clk.Now,
				IdleTimeout: absolute, AbsoluteTimeout: idle})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(idle + time.Millisecond)
			if n, err := short.DeleteExpired(context.Background()); n != 1 || err != nil {
				t.Fatalf("DeleteExpired = %d, %v, want 1", n, err)
			}
		})
		t.Run("last seen written at most once per interval", func(t *testing.T) {
			a := newApp(t, databasetest.Open(t, db.Dialect))
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
			a.clock.Advance(10 * time.Second)
			c.get("/get?k=k")
			if got := lastSeen(t, a.db); got != first+touch.Milliseconds() {
				t.Fatalf("last_seen %d after the interval, want %d", got, first+touch.Milliseconds())
			}
			a.clock.Advance(time.Second)
			c.get("/set?k=w") // a change is written at once
			if got := lastSeen(t, a.db); got != first+touch.Milliseconds()+1000 {
				t.Fatal("a change within the touch interval was not written")
			}
		})
		t.Run("concurrent requests", func(t *testing.T) {
			a := newApp(t, db)
			shared := a.client(t)
			shared.get("/set?k=v")
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					own := a.client(t)
					for j := range 5 {
						own.get(fmt.Sprintf("/set?n=%d", j))
						if i%2 == 0 {
							shared.get("/get?k=k")
						} else {
							shared.get("/set?n=x")
						}
						if i == 0 && j == 2 {
							a.clock.Advance(touch) // touches race with changes
						}
					}
					if got := own.get("/get?k=n"); got != "4" {
						t.Errorf("own session holds %q, want 4", got)
					}
				})
			}
			wg.Wait()
			if got := shared.get("/get?k=k"); got != "v" {
				t.Fatalf("lost data under concurrency: %q", got)
			}
		})
	})
}

func TestValues(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		store, _ := newStore(t, db, false)
		t.Run("round trip exactly", func(t *testing.T) {
			want := map[any]any{
				"plain":           "token",
				"empty":           "",
				"not utf-8":       string([]byte{0xff, 0xfe, 'a', 0}),
				"int64":           int64(-1 << 63),
				"int":             42,
				"yes":             true,
				"no":              false,
				"nil":             nil,
				"":                "empty key",
				session.UserIDKey: "u1",
			}
			q := create(t, store, want)
			q.ses.AddFlash("saved")
			if err := q.save(); err != nil {
				t.Fatal(err)
			}
			got := begin(t, store, q.setCookie().Value).ses
			if flashes := got.Flashes(); len(flashes) != 1 || flashes[0] != "saved" {
				t.Errorf("flashes %#v", flashes)
			}
			for k, v := range want {
				if got.Values[k] != v {
					t.Errorf("%q: got %#v (%T), want %#v (%T)", k, got.Values[k], got.Values[k], v, v)
				}
			}
			if len(got.Values) != len(want)+1 { // +1: the store's own bookkeeping
				t.Errorf("got %d values, want %d", len(got.Values), len(want))
			}
		})
		t.Run("unsupported types are refused", func(t *testing.T) {
			for name, values := range map[string]map[any]any{
				"float":       {"f": 1.5},
				"struct":      {"s": struct{}{}},
				"nested list": {"l": []any{[]any{"x"}}},
				"int key":     {1: "x"},
			} {
				q := begin(t, store, "")
				for k, v := range values {
					q.ses.Values[k] = v
				}
				if err := q.save(); err == nil {
					t.Errorf("%s: saved", name)
				} else if q.setCookie() != nil || q.ses.ID != "" {
					t.Errorf("%s: a cookie or row despite %v", name, err)
				}
			}
		})
	})
}

func TestNewStoreOptions(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	for name, opts := range map[string]session.Options{
		"short secret":          {Secret: []byte("short")},
		"31-byte secret":        {Secret: secret[:31]},
		"short previous secret": {Secret: secret, PreviousSecret: secret[:31]},
		"negative idle":         {Secret: secret, IdleTimeout: -time.Second},
		"touch not below idle":  {Secret: secret, IdleTimeout: time.Minute, TouchInterval: time.Minute},
		"default touch vs idle": {Secret: secret, IdleTimeout: 30 * time.Second},
	} {
		if _, err := session.NewStore(db, opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	store, err := session.NewStore(db, session.Options{Secret: secret})
	if err != nil || store.CookieName() != "reportgate_session" {
		t.Fatalf("defaults: %v, %v", store, err)
	}
}

// TestSessionCookieTakesHostPrefixUnderHTTPS: with an https base URL the
// session cookie, like the sealed ones, is named __Host-…, so a sibling
// subdomain can neither plant nor shadow it (cookie tossing).
func TestSessionCookieTakesHostPrefixUnderHTTPS(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	store, _ := newStore(t, db, true)
	q := beginWith(t, store)
	q.ses.Values["k"] = "v"
	if err := q.save(); err != nil {
		t.Fatal(err)
	}
	cookies := q.w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("%d cookies set, want 1", len(cookies))
	}
	if c := cookies[0]; !c.Secure || !strings.HasPrefix(c.Name, "__Host-") {
		t.Fatalf("secure store set session cookie %q (Secure=%v), want a __Host- name", c.Name, c.Secure)
	}
	if name := store.CookieName(); !strings.HasPrefix(name, "__Host-") {
		t.Fatalf("CookieName() = %q under https", name)
	}
}

// TestBareSessionCookieMovesToHostPrefix: a browser signed in before the
// session cookie took the __Host- prefix presents only the bare
// reportgate_session. It stays signed in, and that response gives the same
// session the prefixed name too, leaving the bare one for replicas of the
// release before (a rolling deploy) until sign-out or renewal; a request
// with both cookies uses the prefixed one.
func TestBareSessionCookieMovesToHostPrefix(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		before, _ := newStore(t, db, false) // as the release before: a bare name, same secret
		old := create(t, before, map[any]any{session.UserIDKey: "ann", "k": "v"}).setCookie()
		if old.Name != "reportgate_session" {
			t.Fatalf("http store's cookie is %q", old.Name)
		}
		store, clk := newStore(t, db, true)
		clk.Advance(time.Hour / 2)
		bare := &http.Cookie{Name: "reportgate_session", Value: old.Value}

		q := beginWith(t, store, bare)
		if got, _ := q.ses.Values["k"].(string); got != "v" || q.ses.IsNew {
			t.Fatalf("bare cookie: session %q (new=%v), want the signed-in one", got, q.ses.IsNew)
		}
		if err := q.save(); err != nil {
			t.Fatal(err)
		}
		moved := q.setCookie()
		if moved == nil || moved.Name != "__Host-reportgate_session" || moved.Value != old.Value || !moved.Secure ||
			!moved.HttpOnly || moved.Path != "/" || moved.Domain != "" || moved.MaxAge != int((absolute-time.Hour/2)/time.Second) {
			t.Fatalf("moved cookie %+v, want the same id under the __Host- name for the rest of its lifetime", moved)
		}
		if c := q.setCookieNamed("reportgate_session"); c != nil {
			t.Fatalf("bare cookie changed on the move, which would sign the person out on the release before: %+v", c)
		}
		// The release before still reads the same session through it.
		if q := beginWith(t, before, bare); q.ses.IsNew {
			t.Fatal("the release before lost the session after the move")
		}
		q = beginWith(t, store, moved)
		if got, _ := q.ses.Values["k"].(string); got != "v" {
			t.Fatalf("moved cookie: session %q", got)
		}
		if err := q.save(); err != nil || len(q.w.Result().Cookies()) != 0 {
			t.Fatalf("after the move: cookies %v, %v", q.w.Result().Cookies(), err)
		}

		// Prefixed first: a bare cookie beside it (planted by a sibling
		// subdomain) is not read.
		other := create(t, before, map[any]any{"k": "planted"}).setCookie()
		q = beginWith(t, store, &http.Cookie{Name: "reportgate_session", Value: other.Value}, moved)
		if got, _ := q.ses.Values["k"].(string); got != "v" {
			t.Fatalf("with both cookies: session %q, want the prefixed one's", got)
		}

		// Signing out from a bare cookie deletes it too.
		q = beginWith(t, store, bare)
		if err := store.Destroy(q.r, q.w, q.ses); err != nil {
			t.Fatal(err)
		}
		if c := q.setCookieNamed("reportgate_session"); c == nil || c.MaxAge >= 0 {
			t.Fatalf("sign-out left the bare cookie: %+v", c)
		}
		if q = beginWith(t, store, moved); !q.ses.IsNew {
			t.Fatal("signed in after sign-out")
		}
	})
}

// TestConcurrentStoreAPI drives Get/Save/Renew/RevokeUser/DeleteExpired
// from many goroutines at once; it exists for -race and for deadlocks on
// SQLite's single connection (Renew holds a transaction).
func TestConcurrentStoreAPI(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		store, clk := newStore(t, db, false)
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				user := fmt.Sprintf("u%d", i%3)
				q := begin(t, store, "")
				q.ses.Values[session.UserIDKey] = user
				if err := q.save(); err != nil {
					t.Error(err)
					return
				}
				cookie := q.setCookie().Value
				for j := range 20 {
					q := begin(t, store, cookie)
					q.ses.Values["j"] = int64(j)
					var err error
					switch j % 5 {
					case 0:
						err = store.Renew(q.r, q.w, q.ses)
						if c := q.setCookie(); c != nil {
							cookie = c.Value
						}
					case 1:
						_, err = store.RevokeUser(context.Background(), user)
					case 2:
						_, err = store.DeleteExpired(context.Background())
						clk.Advance(time.Second)
					default:
						err = q.save()
					}
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	})
}

func BenchmarkStore(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			store, err := session.NewStore(databasetest.Open(b, d), session.Options{Secret: secret})
			if err != nil {
				b.Fatal(err)
			}
			// About what the Logto SDK keeps: an ID token, a refresh token,
			// an access-token map, plus our user id.
			cookie := create(b, store, map[any]any{
				"logto_id_token":         strings.Repeat("t", 900),
				"logto_refresh_token":    strings.Repeat("r", 43),
				"logto_access_token_map": strings.Repeat("a", 600),
				session.UserIDKey:        "user-1",
			}).setCookie().Value
			b.Run("unchanged", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					q := begin(b, store, cookie)
					if q.ses.IsNew {
						b.Fatal("session not loaded")
					}
					if err := q.save(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("changed", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					q := begin(b, store, cookie)
					q.ses.Values["n"] = int64(i)
					if err := q.save(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestDeadPrefixedCookieGivesWayToALiveBareOne: during the rolling deploy
// the move is made for, a browser is given the __Host- cookie by a new
// replica, then signs out and in again on a replica of the release
// before, which knows only the bare name: the bare cookie now holds a live
// session and the __Host- one a deleted session. The new replicas must see
// the live one, and move it over the dead one.
func TestDeadPrefixedCookieGivesWayToALiveBareOne(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	before, _ := newStore(t, db, false) // the release before: bare name, same secret
	store, _ := newStore(t, db, true)

	s1 := create(t, before, map[any]any{session.UserIDKey: "ann", "k": "first"}).setCookie()
	q := beginWith(t, store, &http.Cookie{Name: "reportgate_session", Value: s1.Value})
	if err := q.save(); err != nil {
		t.Fatal(err)
	}
	moved := q.setCookie()
	if moved == nil {
		t.Fatal("no move")
	}

	// Sign-out on an old replica: deletes the row, expires the bare cookie.
	q = beginWith(t, before, &http.Cookie{Name: "reportgate_session", Value: s1.Value})
	if err := before.Destroy(q.r, q.w, q.ses); err != nil {
		t.Fatal(err)
	}
	// Sign-in again on an old replica: a new bare cookie.
	s2 := create(t, before, map[any]any{session.UserIDKey: "ann", "k": "second"}).setCookie()

	// The browser now sends the dead __Host- cookie and the live bare one.
	q = beginWith(t, store, moved, &http.Cookie{Name: "reportgate_session", Value: s2.Value})
	if got, _ := q.ses.Values["k"].(string); q.ses.IsNew || got != "second" {
		t.Fatalf("new replica: signed in=%v, session %q; want the live bare session (the __Host- one is deleted)", !q.ses.IsNew, got)
	}
	if err := q.save(); err != nil {
		t.Fatal(err)
	}
	if c := q.setCookie(); c == nil || c.Value != s2.Value {
		t.Errorf("the dead __Host- cookie was not replaced by the live session: %+v", c)
	}
}
