package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/logto-io/go/v2/client"
	"github.com/logto-io/go/v2/core"

	"reportgate/internal/auth"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/testkit"
	"reportgate/internal/testkit/standin"
)

const (
	appID       = "authtestapp000000000"
	appSecret   = "authtestsecret00000000000000000"
	callbackURL = "http://app.test/callback"
)

type memStorage struct {
	mu    sync.Mutex
	items map[string]string
}

func (m *memStorage) GetItem(k string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items[k]
}

func (m *memStorage) SetItem(k, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[string]string{}
	}
	m.items[k] = v
}

// adaAtLogto is a Logto stand-in's config with this app and one person.
func adaAtLogto() logto.Config {
	return logto.Config{
		Apps: []logto.App{{ID: appID, Secret: appSecret, Type: "Traditional",
			RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{"http://app.test/"}}},
		SeedUsers: []logto.SeedUser{{Email: "ada@example.com", Password: "demo-password", Name: "Ada"}},
	}
}

func startLogto(t *testing.T) string {
	t.Helper()
	return standin.StartLogto(t, adaAtLogto()).URL
}

func newLogto(endpoint string) *auth.Logto {
	return auth.New(auth.Config{
		Endpoint: endpoint, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, PostSignOutURL: "http://app.test/", Timeout: 5 * time.Second,
	})
}

// signIn runs the authorization-code flow through the stand-in's hosted
// page and returns the callback's request URI.
func signIn(t *testing.T, l *auth.Logto, storage client.Storage) string {
	t.Helper()
	ctx := context.Background()
	authURL, err := l.SignInURL(ctx, storage, auth.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, err := testkit.FormRequest(doc, resp.Request.URL, map[string]string{"email": "ada@example.com", "password": "demo-password"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), callbackURL) {
		t.Fatalf("after sign-in form: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.RequestURI()
}

func TestSignInCallbackAndSignOutRevokes(t *testing.T) {
	t.Parallel()
	endpoint := startLogto(t)
	l := newLogto(endpoint)
	storage := &memStorage{}
	who, err := l.HandleCallback(context.Background(), storage, signIn(t, l, storage))
	if err != nil {
		t.Fatal(err)
	}
	if who.Name != "Ada" || who.Email != "ada@example.com" || who.Subject == "" {
		t.Fatalf("identity %+v", who)
	}
	if got, err := l.CurrentUser(context.Background(), storage); err != nil || got.Subject != who.Subject {
		t.Fatalf("CurrentUser = %+v, %v", got, err)
	}
	refresh := storage.GetItem(client.StorageKeyRefreshToken)
	if refresh == "" {
		t.Fatal("no refresh token stored (offline_access needs prompt=consent)")
	}
	endSession, err := l.SignOut(context.Background(), storage)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if !strings.HasPrefix(endSession, endpoint+"/oidc/session/end?") {
		t.Errorf("end-session URL %q", endSession)
	}
	if _, err := l.CurrentUser(context.Background(), storage); !errors.Is(err, auth.ErrSignedOut) {
		t.Errorf("after sign-out CurrentUser err = %v, want ErrSignedOut", err)
	}
	// The refresh token must be dead at Logto, not just forgotten here.
	_, err = core.FetchTokenByRefreshToken(http.DefaultClient, &core.FetchTokenByRefreshTokenOptions{
		TokenEndpoint: endpoint + "/oidc/token", ClientId: appID, ClientSecret: appSecret, RefreshToken: refresh,
	})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("refresh after sign-out: err = %v, want a 400 invalid_grant", err)
	}
}

func TestCallbackReplayAndStateMismatch(t *testing.T) {
	t.Parallel()
	endpoint := startLogto(t)
	l := newLogto(endpoint)
	storage := &memStorage{}
	uri := signIn(t, l, storage)
	if _, err := l.HandleCallback(context.Background(), storage, uri); err != nil {
		t.Fatal(err)
	}
	if _, err := l.HandleCallback(context.Background(), storage, uri); !errors.Is(err, auth.ErrBadCallback) {
		t.Errorf("replay: err = %v, want ErrBadCallback", err)
	}
	other := &memStorage{}
	if _, err := l.SignInURL(context.Background(), other, auth.SignInOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.HandleCallback(context.Background(), other, uri); !errors.Is(err, auth.ErrBadCallback) {
		t.Errorf("state mismatch: err = %v, want ErrBadCallback", err)
	}
}

func TestSignUpURLOpensRegistration(t *testing.T) {
	t.Parallel()
	l := newLogto(startLogto(t))
	u, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{Register: true})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	if q.Get("first_screen") != "register" || q.Get("prompt") != "consent" || !strings.Contains(q.Get("scope"), "offline_access") {
		t.Errorf("authorize query %v", q)
	}
	if strings.Contains(u, " ") {
		t.Errorf("authorize URL has unescaped spaces: %s", u)
	}
}

// startHungLogto starts a server that answers no request until its
// client gives up, and counts the requests.
func startHungLogto(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	// Cleanups run last-in first-out: the handlers are released before
	// Close waits for them.
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	return hung, &requests
}

func TestEveryLogtoCallHasADeadline(t *testing.T) {
	t.Parallel()
	hung, _ := startHungLogto(t)
	l := auth.New(auth.Config{Endpoint: hung.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, Timeout: 50 * time.Millisecond})
	if _, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{}); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("hung Logto: err = %v, want ErrUnavailable", err)
	}
}

func TestClientPerRequestDoesNotRace(t *testing.T) {
	t.Parallel()
	l := newLogto("http://logto.invalid")
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := l.Client(&memStorage{})
			c.SetIdToken("")
		}()
	}
	wg.Wait()
}

// TestSignInChecksLogtoIsUp: once discovery is cached, a sign-in must
// still find out that Logto went down, rather than send the browser to it;
// a recent answer from Logto is trusted, so sign-ins cost no extra call.
func TestSignInChecksLogtoIsUp(t *testing.T) {
	t.Parallel()
	var discoveries atomic.Int64
	lt := standin.StartLogto(t, logto.Config{
		Apps: []logto.App{{ID: appID, Secret: appSecret, Type: "Traditional", RedirectURIs: []string{callbackURL}}}},
		standin.Wrap(func(inner http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/openid-configuration") {
					discoveries.Add(1)
				}
				inner.ServeHTTP(w, r)
			})
		}))
	endpoint := lt.URL
	now := time.Now()
	var mu sync.Mutex
	l := auth.New(auth.Config{Endpoint: endpoint, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, Timeout: 5 * time.Second,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	for range 2 {
		if _, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := discoveries.Load(); n != 1 {
		t.Errorf("two sign-ins in a row fetched discovery %d times, want 1", n)
	}
	lt.HTTP.Close()
	advance(2 * time.Second)
	if _, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{}); err != nil {
		t.Errorf("sign-in right after Logto answered: %v", err)
	}
	advance(time.Minute)
	if _, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{}); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("sign-in with Logto down and discovery cached: err = %v, want ErrUnavailable", err)
	}
}

// TestOnlyARejectedGrantEndsTheSignIn: a refresh that fails ends the
// session (ErrSignedOut, which makes the handler clear it) and a callback
// that fails shows "link no longer valid" (ErrBadCallback, 400) only when
// Logto rejected the grant itself. A rate limit, a timeout or an outage
// must not sign the person out for good, and Logto refusing the app's own
// credentials is a configuration fault, not a bad link: those are
// ErrUnavailable (502) and the session stays.
func TestOnlyARejectedGrantEndsTheSignIn(t *testing.T) {
	t.Parallel()
	type reply struct {
		status int
		body   string
	}
	var injected atomic.Pointer[reply]
	lt := standin.StartLogto(t, adaAtLogto(), standin.Wrap(func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rep := injected.Load(); rep != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oidc/token") {
				w.Header().Set("Retry-After", "10")
				http.Error(w, rep.body, rep.status)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}))
	now := time.Now()
	var mu sync.Mutex
	l := auth.New(auth.Config{Endpoint: lt.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, PostSignOutURL: "http://app.test/", Timeout: 5 * time.Second,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	ctx := context.Background()
	session := &memStorage{}
	if _, err := l.HandleCallback(ctx, session, signIn(t, l, session)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour) // the ID token (1 h) has expired: the next request refreshes
	mu.Unlock()

	for _, c := range []struct {
		name     string
		reply    reply
		rejected bool
	}{
		{"rate limited", reply{http.StatusTooManyRequests, `{"error":"too_many_requests"}`}, false},
		{"request timeout", reply{http.StatusRequestTimeout, "timeout"}, false},
		{"outage", reply{http.StatusServiceUnavailable, "down for maintenance"}, false},
		{"app secret refused", reply{http.StatusUnauthorized, `{"error":"invalid_client","error_description":"client authentication failed"}`}, false},
		{"app not allowed the grant", reply{http.StatusBadRequest, `{"error":"unauthorized_client"}`}, false},
		{"other OAuth error", reply{http.StatusBadRequest, `{"error":"invalid_request"}`}, false},
		{"grant rejected", reply{http.StatusBadRequest, `{"error":"invalid_grant","error_description":"grant request is invalid"}`}, true},
		{"400 without an OAuth body", reply{http.StatusBadRequest, "bad request"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pending := &memStorage{}
			uri := signIn(t, l, pending)
			injected.Store(&c.reply)
			defer injected.Store(nil)
			_, callbackErr := l.HandleCallback(ctx, pending, uri)
			_, refreshErr := l.CurrentUser(ctx, session)
			if c.rejected {
				if !errors.Is(callbackErr, auth.ErrBadCallback) || !errors.Is(refreshErr, auth.ErrSignedOut) {
					t.Fatalf("token endpoint answered %d %s: callback err = %v, want ErrBadCallback; refresh err = %v, want ErrSignedOut",
						c.reply.status, c.reply.body, callbackErr, refreshErr)
				}
				return
			}
			if errors.Is(callbackErr, auth.ErrBadCallback) || !errors.Is(callbackErr, auth.ErrUnavailable) {
				t.Errorf("callback, token endpoint answered %d: err = %v; want ErrUnavailable, not ErrBadCallback (a 400 \"link no longer valid\")",
					c.reply.status, callbackErr)
			}
			if errors.Is(refreshErr, auth.ErrSignedOut) || !errors.Is(refreshErr, auth.ErrUnavailable) {
				t.Errorf("refresh answered %d: err = %v; want ErrUnavailable, not ErrSignedOut (which ends the session)",
					c.reply.status, refreshErr)
			}
		})
	}
}

// TestRefreshDoesNotFailWithTheFirstCallersContext: one refresh serves every
// request of a session waiting on it, so a first caller whose client went
// away (its context cancelled) must not fail it, even when discovery has
// still to be fetched.
func TestRefreshDoesNotFailWithTheFirstCallersContext(t *testing.T) {
	t.Parallel()
	lt := startLogto(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := auth.Config{Endpoint: lt, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, PostSignOutURL: "http://app.test/", Timeout: 5 * time.Second, Now: clock}
	l := auth.New(cfg)
	session := &memStorage{}
	if _, err := l.HandleCallback(context.Background(), session, signIn(t, l, session)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour) // the ID token has expired: the next request refreshes
	mu.Unlock()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := auth.New(cfg) // nothing cached: the refresh fetches discovery and keys
	if _, err := fresh.CurrentUser(gone, session); err != nil {
		t.Fatalf("refresh started by a caller that went away: %v", err)
	}
}

// TestRefreshedIDTokenThatFailsVerificationSignsOut: a refresh whose new
// ID token does not verify leaves no trusted identity, so the session ends
// (signed out), rather than an ordinary page load being answered as a bad
// sign-in callback.
func TestRefreshedIDTokenThatFailsVerificationSignsOut(t *testing.T) {
	t.Parallel()
	var tamper atomic.Bool
	lt := standin.StartLogto(t, adaAtLogto(), standin.Wrap(func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tamper.Load() || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oidc/token") {
				inner.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("token reply: %v", err)
				return
			}
			// Another signature: the token no longer verifies.
			if tok, _ := body["id_token"].(string); tok != "" {
				body["id_token"] = tok[:strings.LastIndex(tok, ".")+1] + "AAAA"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(body)
		})
	}))
	now := time.Now()
	var mu sync.Mutex
	l := auth.New(auth.Config{Endpoint: lt.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, PostSignOutURL: "http://app.test/", Timeout: 5 * time.Second,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	session := &memStorage{}
	if _, err := l.HandleCallback(context.Background(), session, signIn(t, l, session)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	tamper.Store(true)
	_, err := l.CurrentUser(context.Background(), session)
	if !errors.Is(err, auth.ErrSignedOut) || errors.Is(err, auth.ErrBadCallback) {
		t.Fatalf("refreshed ID token that does not verify: err = %v, want ErrSignedOut", err)
	}
}

// TestRefreshAnswerWaitsOutAnUnreachableKeySet: Logto rotates the refresh
// token on a refresh, so when the new ID token cannot be checked because
// the key set is unreachable, the answer must be kept for the next
// attempt; presenting the spent refresh token again makes Logto revoke
// the grant, which signs the person out for a passing outage.
func TestRefreshAnswerWaitsOutAnUnreachableKeySet(t *testing.T) {
	t.Parallel()
	var keysDown atomic.Bool
	rotating := adaAtLogto()
	rotating.RotateRefreshTokenAlways = true
	lt := standin.StartLogto(t, rotating, standin.Wrap(func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if keysDown.Load() && strings.HasSuffix(r.URL.Path, "/oidc/jwks") {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}))
	now := time.Now()
	var mu sync.Mutex
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cfg := auth.Config{Endpoint: lt.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, PostSignOutURL: "http://app.test/", Timeout: 5 * time.Second,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	session := &memStorage{}
	first := auth.New(cfg)
	if _, err := first.HandleCallback(context.Background(), session, signIn(t, first, session)); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Hour) // the ID token has expired: the next request refreshes
	keysDown.Store(true)
	l := auth.New(cfg) // no keys cached
	if _, err := l.CurrentUser(context.Background(), session); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("refresh with the key set down: err = %v, want ErrUnavailable", err)
	}
	keysDown.Store(false)
	advance(2 * time.Second) // past the remembered failure
	if _, err := l.CurrentUser(context.Background(), session); err != nil {
		t.Fatalf("refresh once the key set is back: %v", err)
	}
}

// TestConcurrentSignInsAgainstAHungLogtoFailWithinOneTimeout: while Logto
// hangs, concurrent sign-ins share one discovery fetch and all fail when
// it times out, rather than each running its own fetch after the previous
// one, which kept the n-th waiting n × REPORTGATE_LOGTO_TIMEOUT (80 s for
// the 8th with the default 10 s) for its 502.
func TestConcurrentSignInsAgainstAHungLogtoFailWithinOneTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	const callers = 6
	hung, fetches := startHungLogto(t)
	// A clock that stands still: the failure stays remembered for every
	// caller however slowly the machine runs them, so one fetch serves all.
	at := time.Now()
	l := auth.New(auth.Config{Endpoint: hung.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, Timeout: timeout, Now: func() time.Time { return at }})

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := l.SignInURL(context.Background(), &memStorage{}, auth.SignInOptions{})
			if !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		})
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d concurrent sign-ins made %d discovery fetches, each waiting out the %s timeout; want 1 shared",
			callers, n, timeout)
	}
}

// TestHungLogtoWaitEndsWithTheCallersDeadlineAndAFailureIsRemembered: a
// caller waiting on a shared fetch leaves when its own context ends, and
// a failed fetch answers the callers of the next second without a new
// fetch, after which Logto is asked again.
func TestHungLogtoWaitEndsWithTheCallersDeadlineAndAFailureIsRemembered(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	hung, fetches := startHungLogto(t)
	now := time.Now()
	var mu sync.Mutex
	l := auth.New(auth.Config{Endpoint: hung.URL, AppID: appID, AppSecret: appSecret,
		CallbackURL: callbackURL, Timeout: timeout,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	signInWithin := func(wait time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		start := time.Now()
		_, err := l.SignInURL(ctx, &memStorage{}, auth.SignInOptions{})
		return time.Since(start), err
	}

	fetchFailed := make(chan error, 1)
	go func() { _, err := signInWithin(time.Minute); fetchFailed <- err }()
	if took, err := signInWithin(30 * time.Millisecond); !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller with a 30ms deadline: err = %v after %s; want ErrUnavailable when its own deadline passes", err, took)
	}
	if err := <-fetchFailed; !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("caller waiting for the fetch: err = %v, want ErrUnavailable", err)
	}
	if took, err := signInWithin(time.Minute); !errors.Is(err, auth.ErrUnavailable) || fetches.Load() != 1 {
		t.Errorf("sign-in right after the fetch failed: err = %v after %s, %d fetches; want the remembered failure, 1 fetch",
			err, took, fetches.Load())
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, err := signInWithin(time.Minute); !errors.Is(err, auth.ErrUnavailable) || fetches.Load() != 2 {
		t.Errorf("sign-in 2 s after the failure: err = %v, %d fetches; want ErrUnavailable from a new fetch", err, fetches.Load())
	}
}
