package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"reportgate/handlers"
	"reportgate/internal/metrics"
	"reportgate/internal/webhook"
	"reportgate/static"
)

type fakeSink struct {
	// People is nil: only webhooks reach the sink (Record).
	handlers.People
	mu       sync.Mutex
	recorded []webhook.Event
	fail     error
	// meters are the app's metrics the deliveries were counted in (set by
	// webhookServer).
	meters *metrics.Metrics
}

func (f *fakeSink) Record(_ context.Context, _ []byte, ev webhook.Event) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.recorded = append(f.recorded, ev)
	return "accepted", nil
}

// counted is how many deliveries of outcome the app counted.
func (f *fakeSink) counted(outcome string) int64 {
	return f.meters.WebhookCounts(outcome)[0].Total
}

const hookKey = "current0key0000000000000000000ab"

func webhookServer(t testing.TB, sink *fakeSink, keys ...string) *httptest.Server {
	t.Helper()
	return webhookServerWith(t, sink, nil, keys...)
}

func webhookServerWith(t testing.TB, sink *fakeSink, limit handlers.RateLimiter, keys ...string) *httptest.Server {
	t.Helper()
	base, _ := url.Parse("http://reportgate.test")
	sink.meters = metrics.New(nil)
	srv := httptest.NewServer(handlers.New(handlers.Deps{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL:      base,
		Assets:       static.New(),
		WebhookKeys:  func() []string { return keys },
		People:       sink,
		Metrics:      sink.meters,
		WebhookLimit: limit,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func deliver(t testing.TB, srv *httptest.Server, body, signature string) int {
	t.Helper()
	return deliverTo(t, srv.URL, body, signature)
}

// deliverTo posts a webhook body to the app at baseURL, as Logto does.
func deliverTo(t testing.TB, baseURL, body, signature string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/webhooks/logto", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Logto (https://logto.io/)")
	if signature != "" {
		req.Header.Set(webhook.SignatureHeader, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const userCreated = `{"event":"User.Created","createdAt":"2026-11-28T10:00:00.000Z","userAgent":"Go-http-client/1.1","ip":"::ffff:10.0.0.2","path":"/users","method":"POST","status":200,"params":{},"matchedRoute":"/users","data":{"id":"abc123def456","username":null,"primaryEmail":"a@example.com","primaryPhone":null,"name":"Ada <Admin> & co","avatar":null,"customData":{},"identities":{},"lastSignInAt":null,"createdAt":1764324000000,"updatedAt":1764324000000,"profile":{},"applicationId":null,"isSuspended":false,"hasPassword":true},"hookId":"hook0000000000000000a"}`

func TestWebhookAcceptsLogtoSignature(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	srv := webhookServer(t, sink, hookKey)
	if code := deliver(t, srv, userCreated, webhook.Sign([]byte(userCreated), hookKey)); code != http.StatusNoContent {
		t.Fatalf("status %d", code)
	}
	if len(sink.recorded) != 1 || sink.recorded[0].UserID != "abc123def456" {
		t.Fatalf("recorded %+v", sink.recorded)
	}
}

func TestWebhookPublishedVectorVerifies(t *testing.T) {
	t.Parallel()
	// Logto's own test vector: the signature verifies (so the request gets
	// past 401) and the body, which is no event, is refused as malformed.
	sink := &fakeSink{}
	srv := webhookServer(t, sink, "foo")
	code := deliver(t, srv, `{"bar":"bar","foo":"foo"}`, "436958f1dbfefab37712fb3927760490fbf7757da8c0b2306ee7b485f0360eee")
	if code != http.StatusBadRequest || sink.counted("malformed") != 1 || sink.counted("rejected_signature") != 0 {
		t.Fatalf("status %d, malformed %d, bad signature %d", code, sink.counted("malformed"), sink.counted("rejected_signature"))
	}
}

func TestWebhookRefusesForgeries(t *testing.T) {
	t.Parallel()
	good := webhook.Sign([]byte(userCreated), hookKey)
	var reserialised map[string]any
	json.Unmarshal([]byte(userCreated), &reserialised)
	again, _ := json.Marshal(reserialised)
	cases := map[string]struct{ body, sig string }{
		"forged":        {userCreated, strings.Repeat("ab", 32)},
		"tampered":      {strings.Replace(userCreated, "a@example.com", "b@example.com", 1), good},
		"re-serialised": {string(again), good},
		"missing":       {userCreated, ""},
		"wrong key":     {userCreated, webhook.Sign([]byte(userCreated), "someone-else-key")},
		"prefixed":      {userCreated, "sha256=" + good},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sink := &fakeSink{}
			srv := webhookServer(t, sink, hookKey)
			if code := deliver(t, srv, tc.body, tc.sig); code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
			if len(sink.recorded) != 0 || sink.counted("rejected_signature") != 1 {
				t.Fatalf("recorded %d, rejected %d", len(sink.recorded), sink.counted("rejected_signature"))
			}
		})
	}
}

func TestWebhookPreviousKeyOnlyWhileSet(t *testing.T) {
	t.Parallel()
	old := "previous0key000000000000000000cd"
	sig := webhook.Sign([]byte(userCreated), old)
	if code := deliver(t, webhookServer(t, &fakeSink{}, hookKey, old), userCreated, sig); code != http.StatusNoContent {
		t.Errorf("during rotation: %d", code)
	}
	if code := deliver(t, webhookServer(t, &fakeSink{}, hookKey), userCreated, sig); code != http.StatusUnauthorized {
		t.Errorf("after rotation: %d", code)
	}
}

func TestWebhookLimitsAndMethods(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	srv := webhookServer(t, sink, hookKey)
	huge := `{"event":"User.Created","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	if code := deliver(t, srv, huge, webhook.Sign([]byte(huge), hookKey)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", code)
	}
	resp, err := http.Get(srv.URL + "/webhooks/logto")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	bad := `{"event":` // valid signature, broken JSON
	if code := deliver(t, srv, bad, webhook.Sign([]byte(bad), hookKey)); code != http.StatusBadRequest {
		t.Errorf("malformed: %d", code)
	}
	if len(sink.recorded) != 0 {
		t.Error("refused deliveries were recorded")
	}
}

func TestWebhookNotAcknowledgedWhenNotRecorded(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{fail: errors.New("database is down")}
	srv := webhookServer(t, sink, hookKey)
	if code := deliver(t, srv, userCreated, webhook.Sign([]byte(userCreated), hookKey)); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
}

func FuzzWebhookHandler(f *testing.F) {
	f.Add(userCreated, true)
	f.Add(`{"event":"PostRegister","createdAt":"2026-11-28T10:00:00.000Z","userId":"u1"}`, true)
	f.Add(`{}`, true)
	f.Add(`not json`, false)
	sink := &fakeSink{}
	srv := webhookServer(f, sink, hookKey)
	f.Fuzz(func(t *testing.T, body string, signed bool) {
		sig := "00"
		if signed {
			sig = webhook.Sign([]byte(body), hookKey)
		}
		code := deliver(t, srv, body, sig)
		if code >= 500 {
			t.Fatalf("status %d for %q", code, body)
		}
		if !signed && code != http.StatusUnauthorized {
			t.Fatalf("unsigned body answered %d", code)
		}
	})
}

// TestWebhookRefusesIDsNotShapedLikeLogto: a signed delivery whose user id
// could steer a URL (an admin's role form once posted to another person's
// role through one) is refused and counted, and nothing is recorded.
func TestWebhookRefusesIDsNotShapedLikeLogto(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		id   string
		want int
	}{
		"path traversal": {"../users/x/role?x=", http.StatusBadRequest},
		"129 characters": {strings.Repeat("a", 129), http.StatusBadRequest},
		"128 characters": {strings.Repeat("a", 128), http.StatusNoContent},
		"real-looking":   {"u1x2y3z4w5v6", http.StatusNoContent},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sink := &fakeSink{}
			srv := webhookServer(t, sink, hookKey)
			body := strings.Replace(userCreated, `"id":"abc123def456"`, `"id":`+jsonString(tc.id), 1)
			code := deliver(t, srv, body, webhook.Sign([]byte(body), hookKey))
			if code != tc.want {
				t.Fatalf("status %d, want %d", code, tc.want)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if tc.want == http.StatusBadRequest {
				if n := sink.counted("malformed"); len(sink.recorded) != 0 || n != 1 {
					t.Fatalf("recorded %+v, %d counted malformed; want nothing recorded and one malformed", sink.recorded, n)
				}
				return
			}
			if len(sink.recorded) != 1 || sink.recorded[0].UserID != tc.id {
				t.Fatalf("recorded %+v", sink.recorded)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
