package devstack

import (
	"log/slog"
	"net/http"
	"testing"

	"reportgate/internal/devstack/permit"
)

// TestStartSeedsTheDemoAccountsAndShutsDown starts both stand-ins on free
// ports, finds every demo account in Logto, reaches both over HTTP, and
// shuts down cleanly.
func TestStartSeedsTheDemoAccountsAndShutsDown(t *testing.T) {
	t.Parallel()
	l, err := Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := Start(l, Config{
		DataDir: t.TempDir(),
		AppID:   "app", AppSecret: "app-secret", M2MAppID: "m2m", M2MAppSecret: "m2m-secret",
		AppBaseURLs: []string{"http://127.0.0.1:8080/"},
		Permit:      permit.Config{APIKey: "permit_key_devstack"},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range DemoAccounts() {
		if _, ok := s.Logto.UserByEmail(a.Email); !ok {
			t.Errorf("%s not seeded in the Logto stand-in", a.Email)
		}
	}
	for _, u := range []string{l.LogtoURL, l.PermitURL} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
	if err := s.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if resp, err := http.Get(l.LogtoURL); err == nil {
		resp.Body.Close()
		t.Error("the Logto stand-in still answers after Shutdown")
	}
}
