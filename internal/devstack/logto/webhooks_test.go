package logto

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const hookKey = "whsec0123456789abcdefghijABCDEFG"

type received struct {
	header http.Header
	body   []byte
	event  string
}

// sink is a webhook receiver that records requests and answers with
// queued statuses (200 when the queue is empty).
type sink struct {
	mu       sync.Mutex
	reqs     []received
	statuses []int
	arrived  chan string
}

func newSink(t *testing.T) (*sink, string) {
	s := &sink{arrived: make(chan string, 100)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Event string }
		json.Unmarshal(body, &ev)
		s.mu.Lock()
		s.reqs = append(s.reqs, received{header: r.Header.Clone(), body: body, event: ev.Event})
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		s.arrived <- ev.Event
		w.WriteHeader(status)
	}))
	t.Cleanup(hs.Close)
	return s, hs.URL
}

func (s *sink) setStatuses(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = statuses
}

func (s *sink) all() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.reqs...)
}

func (s *sink) one(t *testing.T, event string) received {
	t.Helper()
	var found []received
	for _, r := range s.all() {
		if r.event == event {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d deliveries of %s, want 1 (got %v)", len(found), event, s.events())
	}
	return found[0]
}

func (s *sink) events() []string {
	var out []string
	for _, r := range s.all() {
		out = append(out, r.event)
	}
	return out
}

func hookEnv(t *testing.T, adjust func(*Config)) (*env, *sink) {
	sk, u := newSink(t)
	e := newEnv(t, func(c *Config) {
		c.WebhookURL, c.WebhookSigningKey = u, hookKey
		if adjust != nil {
			adjust(c)
		}
	})
	return e, sk
}

func TestSignGoldenVectors(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"bar":"bar","foo":"foo"}`: "436958f1dbfefab37712fb3927760490fbf7757da8c0b2306ee7b485f0360eee",
		`{}`:                        "c76356efa19d219d1d7e08ccb20b1d26db53b143156f406c99dcb8e0876d6c55",
	} {
		if got := Sign("foo", []byte(body)); got != want {
			t.Errorf("Sign(foo, %s) = %s, want %s", body, got, want)
		}
	}
}

var (
	userKeys = []string{"id", "username", "primaryEmail", "primaryPhone", "name", "avatar", "customData",
		"identities", "lastSignInAt", "createdAt", "updatedAt", "profile", "applicationId", "isSuspended"}
	isoMillisRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	hookIDRE    = regexp.MustCompile(`^[0-9a-z]{21}$`)
)

func wantKeys(t *testing.T, what string, raw []byte, want ...string) {
	t.Helper()
	if got := topKeys(t, raw); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s keys\n got %v\nwant %v", what, got, want)
	}
}

// checkRequest verifies Logto's headers and signature on the raw body.
func checkRequest(t *testing.T, r received) {
	t.Helper()
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("User-Agent") != "Logto (https://logto.io/)" {
		t.Errorf("headers %v", r.header)
	}
	mac := hmac.New(sha256.New, []byte(hookKey))
	mac.Write(r.body)
	if got := r.header.Get("Logto-Signature-Sha-256"); got != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q does not match the body", got)
	}
	var p struct {
		HookID    string `json:"hookId"`
		CreatedAt string `json:"createdAt"`
	}
	json.Unmarshal(r.body, &p)
	if !hookIDRE.MatchString(p.HookID) || !isoMillisRE.MatchString(p.CreatedAt) {
		t.Errorf("hookId %q / createdAt %q", p.HookID, p.CreatedAt)
	}
}

// checkUser verifies a user object's key order and value types.
func checkUser(t *testing.T, raw []byte, extra ...string) {
	t.Helper()
	wantKeys(t, "user", raw, append(append([]string(nil), userKeys...), extra...)...)
	var u map[string]any
	json.Unmarshal(raw, &u)
	for _, k := range []string{"createdAt", "updatedAt"} {
		if v, ok := u[k].(float64); !ok || v < 1e12 {
			t.Errorf("%s = %v, want epoch ms number", k, u[k])
		}
	}
	if u["username"] != nil || u["primaryPhone"] != nil || u["avatar"] != nil {
		t.Errorf("unset strings must be null: %s", raw)
	}
}

func TestRegistrationWebhooks(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	b := e.browser()
	form := b.get(e.authURL(authParams{extra: url.Values{"first_screen": {"register"}}}))
	b.submit(form, map[string]string{"name": "Grace", "email": "grace@example.com", "password": "long-enough"}).Redirect(t)
	e.srv.Webhooks().Wait()
	if got := sk.events(); len(got) != 2 {
		t.Fatalf("events %v, want User.Created and PostRegister only", got)
	}
	created := sk.one(t, "User.Created")
	checkRequest(t, created)
	wantKeys(t, "User.Created", created.body, "event", "createdAt", "interactionEvent", "userAgent", "applicationId",
		"sessionId", "ip", "application", "data", "hookId")
	checkUser(t, field(t, created.body, "data"))
	wantKeys(t, "application", field(t, created.body, "application"), "id", "type", "name", "description")

	reg := sk.one(t, "PostRegister")
	checkRequest(t, reg)
	wantKeys(t, "PostRegister", reg.body, "event", "interactionEvent", "createdAt", "sessionId", "userAgent",
		"userId", "userIp", "user", "application", "hookId")
	checkUser(t, field(t, reg.body, "user"))
	var p struct {
		InteractionEvent, UserID, UserIP, SessionID string
		User                                        struct{ ID, PrimaryEmail, ApplicationID string }
	}
	json.Unmarshal(reg.body, &p)
	if p.InteractionEvent != "Register" || p.UserID != p.User.ID || p.User.PrimaryEmail != "grace@example.com" ||
		p.User.ApplicationID != webAppID || !strings.HasPrefix(p.UserIP, "::ffff:127.0.0.1") || p.SessionID == "" {
		t.Errorf("PostRegister %s", reg.body)
	}
	if string(field(t, created.body, "sessionId")) != string(field(t, reg.body, "sessionId")) {
		t.Error("both hooks of one registration must carry the same sessionId")
	}
}

func TestSignInWebhook(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	e.code(authParams{})
	e.srv.Webhooks().Wait()
	r := sk.one(t, "PostSignIn")
	checkRequest(t, r)
	if string(field(t, r.body, "interactionEvent")) != `"SignIn"` {
		t.Errorf("%s", r.body)
	}
	var last float64
	json.Unmarshal(field(t, field(t, r.body, "user"), "lastSignInAt"), &last)
	if last < 1e12 {
		t.Errorf("lastSignInAt %v after sign-in", last)
	}
	if len(sk.all()) != 1 {
		t.Errorf("sign-in sent %v; want PostSignIn only", sk.events())
	}
}

func TestManagementWebhooks(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	tok := e.m2mToken()
	resp, body := e.api(http.MethodPost, "/api/users", tok, map[string]any{"primaryEmail": "bob@example.com", "name": "Bob", "password": "pw"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	id := string(field(t, body, "id"))
	id = strings.Trim(id, `"`)
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPatch, "/api/users/" + id, map[string]any{"name": "Robert"}},
		{http.MethodPatch, "/api/users/" + id + "/is-suspended", map[string]any{"isSuspended": true}},
		{http.MethodPatch, "/api/users/" + id + "/custom-data", map[string]any{"customData": map[string]any{"plan": "pro"}}},
		{http.MethodDelete, "/api/users/" + id, nil},
	}
	for _, s := range steps {
		if resp, body := e.api(s.method, s.path, tok, s.body); resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, resp.StatusCode, body)
		}
	}
	e.srv.Webhooks().Wait()
	ctxKeys := []string{"event", "createdAt", "userAgent", "ip", "path", "method", "status", "params", "matchedRoute", "data", "hookId"}

	c := sk.one(t, "User.Created")
	checkRequest(t, c)
	wantKeys(t, "User.Created", c.body, ctxKeys...)
	checkUser(t, field(t, c.body, "data"), "hasPassword")
	if string(field(t, c.body, "status")) != "200" || string(field(t, c.body, "params")) != "{}" ||
		string(field(t, c.body, "path")) != `"/users"` || string(field(t, c.body, "matchedRoute")) != `"/users"` {
		t.Errorf("User.Created context %s", c.body)
	}
	if len(sk.all()) != 5 {
		t.Fatalf("events %v", sk.events())
	}
	var updates []received
	for _, r := range sk.all() {
		if r.event == "User.Data.Updated" {
			updates = append(updates, r)
		}
	}
	if len(updates) != 2 {
		t.Fatalf("want 2 User.Data.Updated, got %v", sk.events())
	}
	for _, u := range updates {
		switch string(field(t, u.body, "matchedRoute")) {
		case `"/users/:userId"`:
			checkUser(t, field(t, u.body, "data"), "hasPassword")
		case `"/users/:userId/custom-data"`:
			if string(field(t, u.body, "data")) != `{"plan":"pro"}` {
				t.Errorf("custom-data hook data must be only the custom data: %s", u.body)
			}
		default:
			t.Errorf("unexpected update %s", u.body)
		}
		if string(field(t, u.body, "params")) != `{"userId":"`+id+`"}` {
			t.Errorf("params %s", field(t, u.body, "params"))
		}
	}
	sus := sk.one(t, "User.SuspensionStatus.Updated")
	checkUser(t, field(t, sus.body, "data"), "hasPassword")
	if string(field(t, field(t, sus.body, "data"), "isSuspended")) != "true" {
		t.Errorf("%s", sus.body)
	}
	del := sk.one(t, "User.Deleted")
	checkUser(t, field(t, del.body, "data"))
	if string(field(t, del.body, "status")) != "204" || string(field(t, del.body, "method")) != `"DELETE"` ||
		string(field(t, del.body, "matchedRoute")) != `"/users/:userId"` {
		t.Errorf("User.Deleted %s", del.body)
	}
}

func TestPartialDataHelpers(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	u, _ := e.srv.UserByEmail(seedEmail)
	w := e.srv.Webhooks()
	if err := w.FireCustomDataUpdated(u.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.FireProfileUpdated(u.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.FireProfileUpdated("nosuchuser00"); err == nil {
		t.Error("unknown user accepted")
	}
	w.Wait()
	for _, r := range sk.all() {
		checkRequest(t, r)
		if string(field(t, r.body, "data")) != "{}" || !strings.HasPrefix(string(field(t, r.body, "matchedRoute")), `"/users/:userId/`) {
			t.Errorf("partial shape %s", r.body)
		}
	}
	if len(sk.all()) != 2 {
		t.Fatalf("events %v", sk.events())
	}
}

func TestWebhookWithoutKeyOrSubscription(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, func(c *Config) { c.WebhookSigningKey = ""; c.WebhookEvents = []string{"PostSignIn"} })
	e.code(authParams{})
	e.api(http.MethodPost, "/api/users", e.m2mToken(), map[string]any{"primaryEmail": "x@example.com"})
	e.srv.Webhooks().Wait()
	r := sk.one(t, "PostSignIn")
	if _, ok := r.header["Logto-Signature-Sha-256"]; ok {
		t.Error("signature header sent without a key")
	}
	if len(sk.all()) != 1 {
		t.Errorf("unsubscribed events delivered: %v", sk.events())
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		retries      bool
		statuses     []int
		wantAttempts int
		wantStatus   int
	}{
		{"released Logto: one attempt on 500", false, []int{500}, 1, 500},
		{"retry mode: 5xx retried, same bytes", true, []int{500, 503, 200}, 3, 200},
		{"retry mode: gives up after 3 retries", true, []int{500, 500, 500, 500, 200}, 4, 500},
		{"retry mode: 4xx not retried", true, []int{404, 200}, 1, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, sk := hookEnv(t, func(c *Config) { c.WebhookRetries = tc.retries })
			sk.setStatuses(tc.statuses...)
			e.code(authParams{})
			e.srv.Webhooks().Wait()
			ds := e.srv.Webhooks().Deliveries()
			if len(ds) != 1 || ds[0].Attempts != tc.wantAttempts || ds[0].Status != tc.wantStatus {
				t.Fatalf("deliveries %+v", ds)
			}
			reqs := sk.all()
			if len(reqs) != tc.wantAttempts {
				t.Fatalf("%d requests, want %d", len(reqs), tc.wantAttempts)
			}
			for _, r := range reqs[1:] {
				if string(r.body) != string(reqs[0].body) || r.header.Get("Logto-Signature-Sha-256") != reqs[0].header.Get("Logto-Signature-Sha-256") {
					t.Error("a retry changed the bytes")
				}
			}
		})
	}
	w := newWebhooks(Config{Now: time.Now}, "x", nil)
	if w.retryDelay(1) != 300*time.Millisecond || w.retryDelay(2) != 600*time.Millisecond || w.retryDelay(3) != 1200*time.Millisecond {
		t.Error("backoff is not ky's 0.3/0.6/1.2 s")
	}
}

func TestWebhookControls(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	w := e.srv.Webhooks()
	register := func(email string) {
		b := e.browser()
		form := b.get(e.authURL(authParams{extra: url.Values{"first_screen": {"register"}}}))
		b.submit(form, map[string]string{"email": email, "password": "long-enough"}).Redirect(t)
	}

	// Hold: PostRegister arrives before User.Created.
	w.Hold("User.Created")
	register("held@example.com")
	if ev := <-sk.arrived; ev != "PostRegister" {
		t.Fatalf("first arrival %s while User.Created is held", ev)
	}
	w.Release("User.Created")
	if ev := <-sk.arrived; ev != "User.Created" {
		t.Fatalf("second arrival %s", ev)
	}
	w.Wait()

	// DropNext: the event never arrives but is logged.
	w.DropNext("PostRegister")
	register("dropped@example.com")
	w.Wait()
	if ev := <-sk.arrived; ev != "User.Created" {
		t.Fatalf("arrival %s", ev)
	}
	select {
	case ev := <-sk.arrived:
		t.Fatalf("dropped delivery arrived: %s", ev)
	default:
	}
	var dropped int
	for _, d := range w.Deliveries() {
		if d.Attempts == 0 && d.Event == "PostRegister" {
			dropped++
		}
	}
	if dropped != 1 {
		t.Fatalf("deliveries %+v", w.Deliveries())
	}

	// Delay: the delivery waits at least d.
	w.Delay("PostSignIn", 80*time.Millisecond)
	start := time.Now()
	e.code(authParams{})
	if ev := <-sk.arrived; ev != "PostSignIn" || time.Since(start) < 80*time.Millisecond {
		t.Fatalf("delayed delivery %s after %v", ev, time.Since(start))
	}
	w.Wait()
}

func TestCloseReleasesAndWaits(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	e.srv.Webhooks().Hold("PostSignIn")
	e.code(authParams{})
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := sk.events(); len(got) != 1 || got[0] != "PostSignIn" {
		t.Fatalf("after Close: %v", got)
	}
}

func TestSendTestPayload(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	w := e.srv.Webhooks()
	ctx := context.Background()
	if err := w.SendTestPayload(ctx, "PostRegister"); err != nil {
		t.Fatal(err)
	}
	if err := w.SendTestPayload(ctx, "User.Created"); err != nil {
		t.Fatal(err)
	}
	reg, created := sk.one(t, "PostRegister"), sk.one(t, "User.Created")
	checkRequest(t, reg)
	wantKeys(t, "test PostRegister", reg.body, "event", "hookId", "createdAt", "userAgent", "sessionId", "userIp", "userId", "user", "application")
	wantKeys(t, "test User.Created", created.body, "event", "hookId", "createdAt", "userAgent", "path", "method", "status", "params", "data")
	if string(field(t, created.body, "data")) != `{"result":"success"}` || string(field(t, created.body, "params")) != `{"id":"fake-id"}` {
		t.Errorf("%s", created.body)
	}
	sk.setStatuses(500)
	if err := w.SendTestPayload(ctx, "PostSignIn"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("non-2xx: %v", err)
	}
}

func TestSendArbitraryPayload(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	if err := e.srv.Webhooks().Send(context.Background(), "User.Data.Updated", json.RawMessage(`{"event":"User.Data.Updated","createdAt":"2026-01-02T03:04:05.006Z","data":{"a":1}}`)); err != nil {
		t.Fatal(err)
	}
	r := sk.one(t, "User.Data.Updated")
	checkRequest(t, r)
	wantKeys(t, "sent", r.body, "event", "createdAt", "data", "hookId")
}

func TestDeliveryLogIsBounded(t *testing.T) {
	t.Parallel()
	w := newWebhooks(Config{}, "hook", nil)
	for i := range keptDeliveries + 10 {
		w.record(Delivery{Event: "E", Err: map[bool]string{true: "failed"}[i%2 == 0]})
	}
	if n := len(w.Deliveries()); n > keptDeliveries {
		t.Errorf("%d deliveries kept, want at most %d", n, keptDeliveries)
	}
	if finished, failed := w.Counts(); finished != keptDeliveries+10 || failed != (keptDeliveries+10)/2 {
		t.Errorf("counts = %d finished, %d failed", finished, failed)
	}
}
