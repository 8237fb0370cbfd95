package logto

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/testkit"
)

const (
	webAppID      = "webapp0000001"
	webAppSecret  = "websecret0000000000000000000001"
	m2mAppID      = "m2mapp0000001"
	m2mAppSecret  = "m2msecret0000000000000000000001"
	appHost       = "app.test" // httptest.NewRequest callbacks use this Host
	redirectURI   = "http://app.test/callback"
	postLogoutURI = "http://app.test/"
	seedEmail     = "ada@example.com"
	seedPassword  = "correct-horse"
	seedName      = "Ada Lovelace"
)

// newClock starts at the real time, so ID tokens still pass the SDK's
// ±60 s iat check against the real clock.
func newClock() *testkit.Clock { return testkit.NewClock(time.Now()) }

type env struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	url   string
	clock *testkit.Clock
}

// newEnv starts a stand-in with a web app, an M2M app and one seed user;
// adjust tweaks the config before New.
func newEnv(t *testing.T, adjust func(*Config)) *env {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	e := &env{t: t, http: hs, url: "http://" + hs.Listener.Addr().String(), clock: newClock()}
	cfg := Config{
		Endpoint: e.url,
		Apps: []App{
			{ID: webAppID, Secret: webAppSecret, Type: AppTraditional, Name: "reportgate",
				RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogoutURI}},
			{ID: m2mAppID, Secret: m2mAppSecret, Type: AppMachineToMachine},
		},
		SeedUsers: []SeedUser{{Email: seedEmail, Password: seedPassword, Name: seedName}},
		Now:       e.clock.Now,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.hooks.retryDelay = func(int) time.Duration { return time.Millisecond }
	e.srv = srv
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// memStorage is the SDK's Storage in memory.
type memStorage struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memStorage) GetItem(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

func (s *memStorage) SetItem(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = v
}

// browser follows redirects within the stand-in and stops at the app's.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	standin, _ := url.Parse(e.url)
	return &browser{t: e.t, e: e, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != standin.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

// browserURL encodes an SDK-built URL as a browser's address bar would:
// the SDK un-escapes the query it builds, leaving literal spaces in it.
func browserURL(sdkURL string) string { return strings.ReplaceAll(sdkURL, " ", "%20") }

// page is what the browser ends on.
type page = testkit.Page

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	return testkit.Open(b.t, b.client, req)
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, browserURL(rawURL), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit sends the form that holds the named fields, with its hidden
// inputs, as a browser would.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	req, err := p.FormRequest(fields)
	if err != nil {
		b.t.Fatalf("%v:\n%s", err, p.Body)
	}
	return b.do(req)
}

// signIn opens authURL and signs in on the hosted page.
func (b *browser) signIn(authURL, email, password string) page {
	b.t.Helper()
	login := b.get(authURL)
	if login.Status != http.StatusOK || login.Doc.Find(`[data-testid="sign-in-form"]`).Length() == 0 {
		b.t.Fatalf("sign-in page: status %d at %s:\n%s", login.Status, login.URL, login.Body)
	}
	return b.submit(login, map[string]string{"email": email, "password": password})
}

// callbackRequest builds the app's callback request for the SDK;
// httptest.NewRequest sets RequestURI, which the SDK rebuilds the callback
// URL from (http.NewRequest leaves it empty, so the URL never matches).
func callbackRequest(loc *url.URL) *http.Request {
	req := httptest.NewRequest(http.MethodGet, loc.RequestURI(), nil)
	req.Host = loc.Host
	return req
}

// authParams is an authorization request built by hand.
type authParams struct {
	verifier  string
	challenge string
	state     string
	scope     string
	prompt    string
	extra     url.Values
}

func (e *env) authURL(p authParams) string {
	q := url.Values{
		"client_id": {webAppID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid offline_access profile email"}, "state": {"st4te"}, "prompt": {"consent"},
	}
	if p.scope != "" {
		q.Set("scope", p.scope)
	}
	if p.prompt != "" {
		q.Set("prompt", p.prompt)
	}
	if p.state != "" {
		q.Set("state", p.state)
	}
	if p.challenge != "" {
		q.Set("code_challenge", p.challenge)
		q.Set("code_challenge_method", "S256")
	}
	for k, v := range p.extra {
		q[k] = v
	}
	return e.url + "/oidc/auth?" + q.Encode()
}

// code signs the seed user in with a fresh browser and returns the code.
func (e *env) code(p authParams) string {
	e.t.Helper()
	loc := e.browser().signIn(e.authURL(p), seedEmail, seedPassword).Redirect(e.t)
	c := loc.Query().Get("code")
	if c == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return c
}

// postForm posts a form to the stand-in, with Basic auth when user != "".
func (e *env) postForm(path string, form url.Values, user, pass string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (int, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	ExpiresIn    int     `json:"expires_in"`
	IDToken      string  `json:"id_token"`
	RefreshToken *string `json:"refresh_token"`
	Scope        string  `json:"scope"`
	TokenType    string  `json:"token_type"`
}

// exchange redeems a code with Basic auth.
func (e *env) exchange(code, verifier string) (int, tokenResponse, []byte) {
	e.t.Helper()
	status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_id": {webAppID}}, webAppID, webAppSecret)
	var tr tokenResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &tr); err != nil {
			e.t.Fatal(err)
		}
	}
	return status, tr, body
}

func (e *env) refresh(token string) (int, tokenResponse, []byte) {
	e.t.Helper()
	status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token},
		"client_id": {webAppID}}, webAppID, webAppSecret)
	var tr tokenResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &tr); err != nil {
			e.t.Fatal(err)
		}
	}
	return status, tr, body
}

// signedIn runs a full code flow and returns the token response.
func (e *env) signedIn() tokenResponse {
	e.t.Helper()
	status, tr, body := e.exchange(e.code(authParams{}), "")
	if status != http.StatusOK {
		e.t.Fatalf("exchange: %d %s", status, body)
	}
	return tr
}

// wantOIDCError checks Logto's reshaped OIDC error body.
func wantOIDCError(t *testing.T, status int, body []byte, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	keys := topKeys(t, body)
	want := []string{"code", "message", "error", "error_description"}
	if code == "invalid_grant" {
		want = []string{"code", "message", "error_uri", "error", "error_description"}
	}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("error keys %v, want %v", keys, want)
	}
	var b map[string]string
	json.Unmarshal(body, &b)
	if b["error"] != code || b["code"] != "oidc."+code {
		t.Errorf("error body %s, want error %s", body, code)
	}
}

// topKeys lists an object's keys in wire order, using the decoder's
// token stream (independent of the package's own object decoder).
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// field returns one member of a JSON object.
func field(t *testing.T, raw []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m[key]
}

func (e *env) m2mToken() string {
	e.t.Helper()
	status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"client_credentials"},
		"resource": {managementResource}, "scope": {"all"}}, m2mAppID, m2mAppSecret)
	if status != http.StatusOK {
		e.t.Fatalf("client credentials: %d %s", status, body)
	}
	var tr tokenResponse
	json.Unmarshal(body, &tr)
	return tr.AccessToken
}

// api calls the Management API with an M2M token (token "" → none).
func (e *env) api(method, path, token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
