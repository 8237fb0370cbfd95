package auth_test

import (
	"context"
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

func startLogto(t *testing.T) string {
	t.Helper()
	return standin.StartLogto(t, logto.Config{
		Apps: []logto.App{{ID: appID, Secret: appSecret, Type: "Traditional",
			RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{"http://app.test/"}}},
		SeedUsers: []logto.SeedUser{{Email: "ada@example.com", Password: "demo-password", Name: "Ada"}},
	}).URL
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

func TestEveryLogtoCallHasADeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release)
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
