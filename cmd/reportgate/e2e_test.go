package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reportgate/internal/devstack"
	"reportgate/internal/testkit"
)

// person is someone using the app through plain HTTP, with a cookie jar.
type person struct {
	t      testing.TB
	client *http.Client
}

func newPerson(t testing.TB) *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: t, client: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

func (p *person) get(u string) testkit.Page {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return testkit.Open(p.t, p.client, req)
}

// fill sends the page's form that has the given fields, keeping hidden
// inputs, and follows redirects.
func (p *person) fill(pg testkit.Page, fields map[string]string) testkit.Page {
	p.t.Helper()
	req, err := pg.FormRequest(fields)
	if err != nil {
		p.t.Fatal(err)
	}
	return testkit.Open(p.t, p.client, req)
}

func (p *person) signUp(d *devInstance, name, email string) testkit.Page {
	p.t.Helper()
	return p.fill(p.get(d.appURL+"/sign-up"), map[string]string{"name": name, "email": email, "password": "long-enough-pw"})
}

func (p *person) signIn(d *devInstance, email string) testkit.Page {
	p.t.Helper()
	return p.fill(p.get(d.appURL+"/sign-in"), map[string]string{"email": email, "password": devstack.DemoPassword})
}

// eventually polls cond until it holds or the deadline passes: the
// condition is the synchronisation (webhooks and jobs are asynchronous),
// the deadline only a failsafe.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// management calls the Logto stand-in's Management API with the dev M2M app.
func management(t *testing.T, d *devInstance, dataDir, method, path, body string) *http.Response {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "dev-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s devstack.Secrets
	json.Unmarshal(raw, &s)
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}
	req, _ := http.NewRequest(http.MethodPost, d.logtoURL+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.M2MAppID, s.M2MAppSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ = http.NewRequest(method, d.logtoURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func userID(t *testing.T, d *devInstance, dataDir, email string) string {
	t.Helper()
	resp := management(t, d, dataDir, http.MethodGet, "/api/users?search="+url.QueryEscape(email), "")
	var users []struct {
		ID           string `json:"id"`
		PrimaryEmail string `json:"primaryEmail"`
	}
	json.NewDecoder(resp.Body).Decode(&users)
	for _, u := range users {
		if u.PrimaryEmail == email {
			return u.ID
		}
	}
	t.Fatalf("no Logto user %s", email)
	return ""
}

func TestSignUpWebhookGrantsViewerThroughSetUp(t *testing.T) {
	t.Parallel()
	d := startDev(t, t.TempDir(), "--permit-propagation-delay", "2s")
	p := newPerson(t)
	home := p.signUp(d, "Dorothy Vaughan", "dorothy@example.com")
	if !home.Has("user-name") {
		t.Fatalf("not signed in after sign-up (at %s)", home.URL)
	}
	first := p.get(d.appURL + "/reports")
	if first.Status != http.StatusOK || !first.Has("access-pending") {
		t.Fatalf("right after sign-up: status %d, want the access-pending view", first.Status)
	}
	var last testkit.Page
	eventually(t, 30*time.Second, "the report to be shown", func() bool {
		last = p.get(d.appURL + "/reports")
		return last.Has("report")
	})
	if last.Has("export-csv") {
		t.Error("a new person got more than the viewer role")
	}
}

func TestDeletedOrSuspendedPersonIsSignedOut(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	viewer, analyst := newPerson(t), newPerson(t)
	if !viewer.signIn(d, "viewer@example.com").Has("user-name") || !analyst.signIn(d, "analyst@example.com").Has("user-name") {
		t.Fatal("demo accounts could not sign in")
	}
	if r := management(t, d, dataDir, http.MethodPatch, "/api/users/"+userID(t, d, dataDir, "viewer@example.com")+"/is-suspended", `{"isSuspended":true}`); r.StatusCode != http.StatusOK {
		t.Fatalf("suspend: %d", r.StatusCode)
	}
	eventually(t, 20*time.Second, "the suspended person's session to end", func() bool {
		return !viewer.get(d.appURL + "/").Has("user-name")
	})
	if r := management(t, d, dataDir, http.MethodDelete, "/api/users/"+userID(t, d, dataDir, "analyst@example.com"), ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	eventually(t, 20*time.Second, "the deleted person's session to end", func() bool {
		return !analyst.get(d.appURL + "/").Has("user-name")
	})
}
