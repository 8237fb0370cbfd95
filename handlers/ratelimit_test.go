package handlers_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"reportgate/internal/ratelimit"
	"reportgate/internal/testkit"
	"reportgate/internal/webhook"
)

// fromClient sends the request as if through a proxy that says it came
// from xff.
func fromClient(xff string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("X-Forwarded-For", xff) }
}

func TestSignInIsRateLimitedPerClient(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	t.Run("behind a trusted proxy", func(t *testing.T) {
		t.Parallel()
		c := testkit.NewClock(time.Now())
		e := newEnv(t, envOptions{signInLimit: ratelimit.PerClient{
			Clients: ratelimit.Clients{Trusted: loopback}, Limiter: ratelimit.New(60, 0, c.Now)}})
		paths := []string{"/sign-in", "/sign-up", "/callback"}
		for i := range 60 {
			if resp := answer(t, e, "GET", paths[i%3], fromClient("198.51.100.1")); resp.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("request %d refused", i+1)
			}
		}
		resp := answer(t, e, "GET", "/sign-in", fromClient("198.51.100.1"))
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("61st request in a minute: %d, want 429", resp.StatusCode)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if resp := answer(t, e, "GET", "/sign-in", fromClient("198.51.100.2")); resp.StatusCode == http.StatusTooManyRequests {
			t.Error("another client was refused")
		}
		// The error page is the app's.
		b := e.browser()
		req, _ := http.NewRequest("GET", e.app.URL+"/sign-in", nil)
		fromClient("198.51.100.1")(req)
		if p := b.do(req); testid(p, "error-page").AttrOr("data-status", "") != "429" {
			t.Errorf("429 without the app's error page: %d", p.Status)
		}
		c.Advance(2 * time.Minute)
		if resp := answer(t, e, "GET", "/sign-in", fromClient("198.51.100.1")); resp.StatusCode == http.StatusTooManyRequests {
			t.Error("still refused a minute later")
		}
	})
	t.Run("a spoofed X-Forwarded-For from an untrusted peer does not dodge the limit", func(t *testing.T) {
		t.Parallel()
		c := testkit.NewClock(time.Now())
		e := newEnv(t, envOptions{signInLimit: ratelimit.PerClient{Limiter: ratelimit.New(60, 0, c.Now)}})
		for i := range 60 {
			answer(t, e, "GET", "/sign-in", fromClient("203.0.113."+strconv.Itoa(i)))
		}
		if resp := answer(t, e, "GET", "/sign-in", fromClient("203.0.113.200")); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("61st request with a fresh X-Forwarded-For: %d, want 429", resp.StatusCode)
		}
	})
}

func TestOnlyRejectedWebhooksAreRateLimited(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Now())
	sink := &fakeSink{}
	srv := webhookServerWith(t, sink, ratelimit.PerClient{Limiter: ratelimit.New(60, 0, c.Now)}, hookKey)
	signed := webhook.Sign([]byte(userCreated), hookKey)
	for i := range 60 {
		if code := deliver(t, srv, userCreated, "00"); code != http.StatusUnauthorized {
			t.Fatalf("forgery %d: %d, want 401", i+1, code)
		}
	}
	if code := deliver(t, srv, userCreated, "00"); code != http.StatusTooManyRequests {
		t.Fatalf("61st forgery: %d, want 429", code)
	}
	for i := range 70 {
		if code := deliver(t, srv, userCreated, signed); code != http.StatusNoContent {
			t.Fatalf("signed delivery %d from the limited client: %d, want 204", i+1, code)
		}
	}
	if n := sink.counted("rate_limited"); n != 1 {
		t.Errorf("rate_limited counted %d, want 1", n)
	}
	if n := sink.counted("rejected_signature"); n != 60 {
		t.Errorf("rejected_signature counted %d, want 60", n)
	}
}
