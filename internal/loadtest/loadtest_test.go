package loadtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"reportgate/internal/webhook"
)

// TestLoadtestWebhooksSendsSignedRegistrations checks that every delivery
// verifies with the key and parses as Logto's, two per fresh user, and
// that the printed counts are the server's.
func TestLoadtestWebhooksSendsSignedRegistrations(t *testing.T) {
	t.Parallel()
	const key, count = "loadtest-signing-key", 50
	var mu sync.Mutex
	events := map[string]int{}
	users := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/webhooks/logto" || webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), key) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev, err := webhook.Parse(body)
		if err != nil || !webhook.ValidID(ev.UserID) || ev.User == nil || ev.User.Email == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		events[ev.Name]++
		users[ev.UserID]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var out strings.Builder
	err := Webhooks{URL: srv.URL, Key: key, Senders: 4, Count: count, Timeout: 2 * time.Minute}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "status: 204×50\n") || !strings.Contains(out.String(), "req/s, p50") {
		t.Errorf("output does not report 50 × 204 and the rates:\n%s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if events[webhook.EventUserCreated] != count/2 || events[webhook.EventPostRegister] != count/2 {
		t.Errorf("events = %v, want %d of User.Created and of PostRegister", events, count/2)
	}
	if len(users) != count/2 {
		t.Errorf("%d distinct users, want %d", len(users), count/2)
	}
	for id, n := range users {
		if n != 2 {
			t.Errorf("user %s got %d deliveries, want 2", id, n)
		}
	}
}

// TestLoadtestHTTPCountsStatuses checks the cookie is sent and that the
// status counts printed add up to what the server answered.
func TestLoadtestHTTPCountsStatuses(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	served := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served++
		n := served
		mu.Unlock()
		if r.Header.Get("Cookie") != "rg_session=abc" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n%2 == 0 {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	var out strings.Builder
	err := HTTP{URL: srv.URL + "/healthz", Conns: 2, Duration: 100 * time.Millisecond, Cookie: "rg_session=abc"}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := served
	mu.Unlock()
	want := "status: 200×" + strconv.Itoa((n+1)/2) + " 418×" + strconv.Itoa(n/2) + "\n"
	if n == 0 || !strings.Contains(out.String(), want) {
		t.Errorf("server answered %d; output lacks %q:\n%s", n, want, out.String())
	}
}

func TestLoadtestRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	for _, r := range []interface {
		Run(context.Context, io.Writer) error
	}{
		Webhooks{URL: "http://192.0.2.1:8080", Key: "k", Senders: 16, Count: 1, Timeout: time.Minute},
		HTTP{URL: "https://example.com/healthz", Conns: 32, Duration: time.Second},
		HTTP{URL: "http://127.0.0.1.example.com/", Conns: 32, Duration: time.Second},
	} {
		err := r.Run(context.Background(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%+v: err = %v, want a refusal naming --allow-remote", r, err)
		}
	}
}

func TestLoadtestFailsWhenNothingAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	err := HTTP{URL: url, Conns: 1, Duration: 50 * time.Millisecond}.Run(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no request got a response") {
		t.Errorf("err = %v, want one saying nothing answered", err)
	}
}
