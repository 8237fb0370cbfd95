package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/session"
	"reportgate/internal/testkit"
)

// pendingStep runs one request carrying cookies through fn and returns
// the cookies it set, by name.
func pendingStep(t *testing.T, cookies []*http.Cookie, fn func(w http.ResponseWriter, r *http.Request)) map[string]*http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	fn(w, r)
	set := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		set[c.Name] = c
	}
	return set
}

// jar keeps cookies as a browser would: later Set-Cookies replace earlier
// ones, expired ones are dropped.
type jar map[string]*http.Cookie

func (j jar) update(set map[string]*http.Cookie) {
	for name, c := range set {
		if c.MaxAge < 0 {
			delete(j, name)
		} else {
			j[name] = c
		}
	}
}

func (j jar) list() []*http.Cookie { return slices.Collect(maps.Values(j)) }

func add(t *testing.T, store *session.Store, j jar, p session.PendingSignIn) {
	t.Helper()
	j.update(pendingStep(t, j.list(), func(w http.ResponseWriter, r *http.Request) {
		if err := store.AddPendingSignIn(w, r, p); err != nil {
			t.Fatal(err)
		}
	}))
}

func take(t *testing.T, store *session.Store, j jar, state string) (session.PendingSignIn, error, map[string]*http.Cookie) {
	t.Helper()
	var p session.PendingSignIn
	var err error
	set := pendingStep(t, j.list(), func(w http.ResponseWriter, r *http.Request) {
		p, err = store.TakePendingSignIn(w, r, state)
	})
	j.update(set)
	return p, err, set
}

func pendingFor(state string) session.PendingSignIn {
	return session.PendingSignIn{State: state, Items: map[string]string{"logto_sign_in_session": `{"state":"` + state + `"}`},
		ReturnTo: "/reports?from=" + state}
}

func TestPendingSignIn(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	t.Run("round trip, attributes, no row", func(t *testing.T) {
		for _, secure := range []bool{false, true} {
			store, _ := newStore(t, db, secure)
			j := jar{}
			signUp := pendingFor("s1")
			signUp.SignUp = true
			add(t, store, j, signUp)
			name := cookieName("reportgate_signin", secure)
			c := j[name]
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure ||
				c.Path != "/" || c.Domain != "" || c.MaxAge != int(session.PendingTTL/time.Second) {
				t.Fatalf("secure=%v: cookie %+v", secure, c)
			}
			// Decoded, a sealed value never shows the return target (a base64
			// match of a short string could happen by chance; 16 raw bytes cannot).
			if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil ||
				bytes.Contains(raw, []byte("/reports?from=s1")) || strings.Contains(c.Value, "/reports") {
				t.Fatalf("the cookie shows what it holds (or is not base64: %v)", err)
			}
			got, err, _ := take(t, store, j, "s1")
			if err != nil || got.ReturnTo != "/reports?from=s1" || !maps.Equal(got.Items, pendingFor("s1").Items) || !got.SignUp {
				t.Fatalf("took %+v, %v", got, err)
			}
		}
		if n := rows(t, db); n != 0 {
			t.Fatalf("%d session rows for pending sign-ins", n)
		}
	})
	t.Run("single use: taken once, cookie deleted", func(t *testing.T) {
		store, _ := newStore(t, db, false)
		j := jar{}
		add(t, store, j, pendingFor("s1"))
		if _, err, set := take(t, store, j, "s1"); err != nil || set["reportgate_signin"] == nil || set["reportgate_signin"].MaxAge >= 0 {
			t.Fatalf("take: %v, cookies %v", err, set)
		}
		if _, err, _ := take(t, store, j, "s1"); !errors.Is(err, session.ErrNoPendingSignIn) {
			t.Fatalf("second take: %v", err)
		}
		// A failed take (wrong state) deletes the cookie too.
		j = jar{}
		add(t, store, j, pendingFor("s2"))
		if _, err, set := take(t, store, j, "other"); !errors.Is(err, session.ErrNoPendingSignIn) || set["reportgate_signin"].MaxAge >= 0 {
			t.Fatalf("wrong state: %v, cookies %v", err, set)
		}
	})
	t.Run("tampered, foreign and expired cookies are refused and deleted", func(t *testing.T) {
		// Foreign: sealed under another secret. Tampered and foreign are
		// refused whatever the time; the clock passes the TTL for expired.
		store, clk := newStore(t, db, false)
		other, err := session.NewStore(db, session.Options{Secret: []byte(strings.Repeat("o", 32)), Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		fresh := func(s *session.Store) jar { j := jar{}; add(t, s, j, pendingFor("s1")); return j }
		tampered := fresh(store)
		v := []byte(tampered["reportgate_signin"].Value)
		v[len(v)/2] ^= 1
		tampered["reportgate_signin"].Value = string(v)
		foreign := fresh(other)
		expired := fresh(store)
		clk.Advance(session.PendingTTL + time.Millisecond)
		for name, j := range map[string]jar{"tampered": tampered, "foreign": foreign, "expired": expired} {
			_, err, set := take(t, store, j, "s1")
			if !errors.Is(err, session.ErrNoPendingSignIn) {
				t.Errorf("%s: took it (%v)", name, err)
			}
			if c := set["reportgate_signin"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("%s: cookie not deleted: %+v", name, c)
			}
		}
	})
	t.Run("expiry is inside the sealed value", func(t *testing.T) {
		store, clk := newStore(t, db, false)
		j := jar{}
		add(t, store, j, pendingFor("s1"))
		clk.Advance(session.PendingTTL)
		// A browser that ignores Max-Age keeps sending the cookie.
		if _, err, _ := take(t, store, jar{"reportgate_signin": j["reportgate_signin"]}, "s1"); err != nil {
			t.Fatalf("at exactly the TTL: %v", err)
		}
		clk.Advance(time.Millisecond)
		if _, err, _ := take(t, store, j, "s1"); !errors.Is(err, session.ErrNoPendingSignIn) {
			t.Fatalf("past the TTL: %v", err)
		}
	})
	t.Run("several tabs, the oldest gives way", func(t *testing.T) {
		store, _ := newStore(t, db, false)
		j := jar{}
		for _, s := range []string{"a", "b", "c", "d"} {
			add(t, store, j, pendingFor(s))
		}
		if _, err, _ := take(t, store, maps.Clone(j), "a"); !errors.Is(err, session.ErrNoPendingSignIn) {
			t.Fatalf("the oldest of %d survived: %v", session.MaxPending+1, err)
		}
		for _, s := range []string{"c", "b", "d"} {
			if got, err, _ := take(t, store, j, s); err != nil || got.State != s {
				t.Fatalf("tab %s: %+v, %v", s, got, err)
			}
		}
		if len(j) != 0 {
			t.Fatalf("cookie left after every tab finished: %v", j)
		}
	})
	t.Run("the cookie stays under 4 KB", func(t *testing.T) {
		store, _ := newStore(t, db, false)
		j := jar{}
		big := func(s string) session.PendingSignIn {
			p := pendingFor(s)
			p.ReturnTo = "/" + strings.Repeat("x", 2047)
			return p
		}
		add(t, store, j, big("a"))
		add(t, store, j, big("b"))
		if n := len(j["reportgate_signin"].Value); n > 4000 {
			t.Fatalf("cookie value of %d bytes", n)
		}
		if got, err, _ := take(t, store, j, "b"); err != nil || got.State != "b" {
			t.Fatalf("newest: %+v, %v", got, err)
		}
		huge := pendingFor("h")
		huge.Items["logto_sign_in_session"] = strings.Repeat("x", 4096)
		step := pendingStep(t, nil, func(w http.ResponseWriter, r *http.Request) {
			if err := store.AddPendingSignIn(w, r, huge); err == nil {
				t.Error("a pending sign-in too large for a cookie was accepted")
			}
		})
		if len(step) != 0 {
			t.Errorf("cookie set for a refused sign-in: %v", step)
		}
	})
	t.Run("a return_to of HTML characters fits, a larger one becomes /", func(t *testing.T) {
		store, _ := newStore(t, db, false)
		for _, tc := range []struct{ returnTo, want string }{
			// Under the handlers' 2 KB cap, but 6 KB as escaped by default.
			{"/reports?" + strings.Repeat("&<>", 600), "/reports?" + strings.Repeat("&<>", 600)},
			// Still escaped ('"' as 2 bytes, invalid UTF-8 as 6): too large.
			{"/reports?" + strings.Repeat(`"`, 2000), "/"},
			{"/reports?" + strings.Repeat("\xff", 2000), "/"},
			{strings.Repeat("x", 4096), "/"},
		} {
			j := jar{}
			p := pendingFor("a")
			p.ReturnTo = tc.returnTo
			add(t, store, j, p)
			if n := len(j["reportgate_signin"].Value); n > 4000 {
				t.Fatalf("cookie value of %d bytes", n)
			}
			got, err, _ := take(t, store, j, "a")
			if err != nil || got.ReturnTo != tc.want || !maps.Equal(got.Items, p.Items) {
				t.Errorf("return_to %.20q… of %d bytes came back as %.20q… (%d bytes), %v; want %.20q…",
					tc.returnTo, len(tc.returnTo), got.ReturnTo, len(got.ReturnTo), err, tc.want)
			}
		}
	})
}

// TestSecretRotation: cookies made with the previous secret keep working
// while it is configured as PreviousSecret, and only then.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	oldSecret, newSecret := []byte(strings.Repeat("1", 32)), []byte(strings.Repeat("2", 32))
	clk := testkit.NewClock(time.Now())
	open := func(current, previous []byte) *session.Store {
		s, err := session.NewStore(db, session.Options{Secret: current, PreviousSecret: previous, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := open(oldSecret, nil)
	sessionCookie := create(t, before, map[any]any{"k": "v"}).setCookie().Value
	pending := jar{}
	add(t, before, pending, pendingFor("s1"))
	notice := jar{}
	notice.update(pendingStep(t, nil, func(w http.ResponseWriter, _ *http.Request) {
		if err := before.SetNotice(w, "saved"); err != nil {
			t.Fatal(err)
		}
	}))

	for _, tc := range []struct {
		name  string
		store *session.Store
		works bool
	}{
		{"previous configured", open(newSecret, oldSecret), true},
		{"previous dropped", open(newSecret, nil), false},
	} {
		if got := begin(t, tc.store, sessionCookie).ses.Values["k"]; (got == "v") != tc.works {
			t.Errorf("%s: session cookie read %v", tc.name, got)
		}
		if _, err, _ := take(t, tc.store, maps.Clone(pending), "s1"); (err == nil) != tc.works {
			t.Errorf("%s: pending cookie: %v", tc.name, err)
		}
		var text string
		pendingStep(t, notice.list(), func(w http.ResponseWriter, r *http.Request) { text = tc.store.TakeNotice(w, r) })
		if (text == "saved") != tc.works {
			t.Errorf("%s: notice %q", tc.name, text)
		}
	}
	// New cookies use the current secret: a store that knows only the new
	// secret reads what the rotated store writes.
	rotated := open(newSecret, oldSecret)
	fresh := create(t, rotated, map[any]any{"k": "w"}).setCookie().Value
	if got := begin(t, open(newSecret, nil), fresh).ses.Values["k"]; got != "w" {
		t.Errorf("a new session cookie was not signed with the current secret (read %v)", got)
	}
	j := jar{}
	add(t, rotated, j, pendingFor("s2"))
	if _, err, _ := take(t, open(newSecret, nil), j, "s2"); err != nil {
		t.Errorf("a new pending cookie was not sealed with the current secret: %v", err)
	}
}

func TestNotices(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	t.Run("signed out: a sealed cookie, shown once, for five minutes", func(t *testing.T) {
		for _, secure := range []bool{false, true} {
			store, clk := newStore(t, db, secure)
			set := func() jar {
				j := jar{}
				j.update(pendingStep(t, nil, func(w http.ResponseWriter, _ *http.Request) {
					if err := store.SetNotice(w, "Your changes were saved."); err != nil {
						t.Fatal(err)
					}
				}))
				return j
			}
			takeNotice := func(j jar) (string, map[string]*http.Cookie) {
				var text string
				got := pendingStep(t, j.list(), func(w http.ResponseWriter, r *http.Request) { text = store.TakeNotice(w, r) })
				j.update(got)
				return text, got
			}
			j := set()
			name := cookieName("reportgate_notice", secure)
			if c := j[name]; c == nil || !c.HttpOnly || c.Secure != secure || c.MaxAge != 300 || strings.Contains(c.Value, "saved") {
				t.Fatalf("notice cookie %+v", c)
			}
			if text, got := takeNotice(j); text != "Your changes were saved." || got[name] == nil || got[name].MaxAge >= 0 {
				t.Fatalf("took %q, cookies %v", text, got)
			}
			if text, _ := takeNotice(j); text != "" {
				t.Fatalf("shown twice: %q", text)
			}
			j = set()
			clk.Advance(session.NoticeTTL + time.Millisecond)
			if text, _ := takeNotice(j); text != "" {
				t.Fatalf("expired notice shown: %q", text)
			}
			// A pending sign-in cookie's value is not a notice.
			p := jar{}
			add(t, store, p, pendingFor("s"))
			forged := jar{name: {Name: name, Value: p[cookieName("reportgate_signin", secure)].Value}}
			if text, _ := takeNotice(forged); text != "" {
				t.Fatalf("a pending cookie opened as notice %q", text)
			}
		}
		if n := rows(t, db); n != 0 {
			t.Fatalf("%d rows for notices", n)
		}
		store, _ := newStore(t, db, false)
		pendingStep(t, nil, func(w http.ResponseWriter, _ *http.Request) {
			if err := store.SetNotice(w, strings.Repeat("x", 2000)); err == nil {
				t.Error("an oversized notice was accepted")
			}
		})
	})
	t.Run("signed in: in the session values", func(t *testing.T) {
		store, _ := newStore(t, db, false)
		q := create(t, store, map[any]any{session.UserIDKey: "u1"})
		session.AddNotice(q.ses, "first")
		session.AddNotice(q.ses, "second")
		if err := q.save(); err != nil {
			t.Fatal(err)
		}
		next := begin(t, store, q.setCookie().Value)
		if got := session.TakeNotices(next.ses); strings.Join(got, "|") != "first|second" {
			t.Fatalf("notices %q", got)
		}
		if err := next.save(); err != nil {
			t.Fatal(err)
		}
		if got := session.TakeNotices(begin(t, store, q.setCookie().Value).ses); len(got) != 0 {
			t.Fatalf("notices shown twice: %q", got)
		}
	})
}

func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}
