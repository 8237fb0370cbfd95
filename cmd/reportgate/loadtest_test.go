package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

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
	err := run(context.Background(), []string{"loadtest", "webhooks", "--url", srv.URL, "--key", key,
		"--senders", "4", "--count", "50"}, func(string) string { return "" }, &out, io.Discard)
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
	err := run(context.Background(), []string{"loadtest", "http", "--url", srv.URL + "/healthz", "--conns", "2",
		"--duration", "100ms", "--cookie", "rg_session=abc"}, func(string) string { return "" }, &out, io.Discard)
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
	for _, args := range [][]string{
		{"loadtest", "webhooks", "--url", "http://192.0.2.1:8080", "--key", "k", "--count", "1"},
		{"loadtest", "http", "--url", "https://example.com/healthz", "--duration", "1s"},
		{"loadtest", "http", "--url", "http://127.0.0.1.example.com/", "--duration", "1s"},
	} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%v: err = %v, want a refusal naming --allow-remote", args, err)
		}
	}
}

func TestLoadtestFailsWhenNothingAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	err := run(context.Background(), []string{"loadtest", "http", "--url", url, "--conns", "1", "--duration", "50ms"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no request got a response") {
		t.Errorf("err = %v, want one saying nothing answered", err)
	}
}
