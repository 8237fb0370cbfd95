package logto

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	status, body := e.postForm("/oidc/token", url.Values{"grant_type": {"client_credentials"},
		"resource": {managementResource}, "scope": {"all"}}, m2mAppID, m2mAppSecret)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	wantKeys(t, "M2M token response", body, "access_token", "expires_in", "token_type", "scope")
	if string(field(t, body, "expires_in")) != "3600" || string(field(t, body, "scope")) != `"all"` {
		t.Errorf("%s", body)
	}
	var tok string
	json.Unmarshal(field(t, body, "access_token"), &tok)
	payload, err := e.srv.key.verifyJWT(tok)
	if err != nil {
		t.Fatal(err)
	}
	if string(field(t, payload, "aud")) != `"`+managementResource+`"` || string(field(t, payload, "sub")) != `"`+m2mAppID+`"` {
		t.Errorf("claims %s", payload)
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"web app may not use client_credentials", url.Values{"grant_type": {"client_credentials"}, "resource": {managementResource}}, webAppID, webAppSecret, 400, "unauthorized_client"},
		{"unknown resource", url.Values{"grant_type": {"client_credentials"}, "resource": {"https://x.example"}}, m2mAppID, m2mAppSecret, 400, "invalid_target"},
		{"unknown scope", url.Values{"grant_type": {"client_credentials"}, "resource": {managementResource}, "scope": {"write"}}, m2mAppID, m2mAppSecret, 400, "invalid_scope"},
		{"M2M app may not refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, m2mAppID, m2mAppSecret, 400, "unauthorized_client"},
		{"unknown grant type", url.Values{"grant_type": {"password"}}, m2mAppID, m2mAppSecret, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.postForm("/oidc/token", tc.form, tc.user, tc.pass)
			wantOIDCError(t, status, body, tc.status, tc.code)
		})
	}
}

func TestManagementAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	other := newEnv(t, nil) // a different tenant key
	web := e.signedIn()
	u, _ := e.srv.UserByEmail(seedEmail)
	for name, tok := range map[string]string{
		"no token":                 "",
		"garbage":                  "not-a-jwt",
		"another tenant's token":   other.m2mToken(),
		"an opaque userinfo token": web.AccessToken,
	} {
		resp, body := e.api(http.MethodGet, "/api/users/"+u.ID, tok, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(string(field(t, body, "code")), `"auth.`) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	tok := e.m2mToken()
	if resp, body := e.api(http.MethodGet, "/api/users/"+u.ID, tok, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid token: %d %s", resp.StatusCode, body)
	}
	e.clock.Advance(time.Hour + time.Second)
	if resp, _ := e.api(http.MethodGet, "/api/users/"+u.ID, tok, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
}

func TestManagementUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PasswordIterations = 1000 })
	tok := e.m2mToken()
	u, _ := e.srv.UserByEmail(seedEmail)

	resp, body := e.api(http.MethodGet, "/api/users/"+u.ID, tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	checkUser(t, body, "hasPassword")
	resp, body = e.api(http.MethodGet, "/api/users/missing00000", tok, nil)
	if resp.StatusCode != http.StatusNotFound || string(field(t, body, "code")) != `"entity.not_exists_with_id"` {
		t.Fatalf("404: %d %s", resp.StatusCode, body)
	}
	resp, body = e.api(http.MethodPost, "/api/users", tok, map[string]any{"primaryEmail": "Ada@Example.com"})
	if resp.StatusCode != http.StatusUnprocessableEntity || string(field(t, body, "code")) != `"user.email_already_in_use"` {
		t.Fatalf("duplicate: %d %s", resp.StatusCode, body)
	}

	for i := range 24 {
		resp, body := e.api(http.MethodPost, "/api/users", tok, map[string]any{
			"primaryEmail": fmt.Sprintf("u%02d@example.com", i), "name": fmt.Sprintf("User %d", i)})
		if resp.StatusCode != http.StatusOK || string(field(t, body, "hasPassword")) != "false" {
			t.Fatalf("create %d: %d %s", i, resp.StatusCode, body)
		}
		e.clock.Advance(time.Millisecond) // distinct createdAt for a stable order
	}
	resp, body = e.api(http.MethodGet, "/api/users?page=2&page_size=10", tok, nil)
	var page []map[string]any
	json.Unmarshal(body, &page)
	if resp.StatusCode != http.StatusOK || len(page) != 10 || resp.Header.Get("Total-Number") != "25" {
		t.Fatalf("page 2: %d, %d users, total %q", resp.StatusCode, len(page), resp.Header.Get("Total-Number"))
	}
	if page[0]["primaryEmail"] != "u13@example.com" {
		t.Errorf("page 2 starts with %v; want newest first", page[0]["primaryEmail"])
	}
	link := resp.Header.Get("Link")
	for _, want := range []string{
		`<` + e.url + `/api/users?page=1&page_size=10>; rel="first"`,
		`<` + e.url + `/api/users?page=1&page_size=10>; rel="prev"`,
		`<` + e.url + `/api/users?page=3&page_size=10>; rel="next"`,
		`<` + e.url + `/api/users?page=3&page_size=10>; rel="last"`,
	} {
		if !strings.Contains(link, want) {
			t.Errorf("Link %q lacks %s", link, want)
		}
	}
	resp, body = e.api(http.MethodGet, "/api/users", tok, nil)
	json.Unmarshal(body, &page)
	if len(page) != 20 {
		t.Errorf("default page size: %d", len(page))
	}
	if resp, _ := e.api(http.MethodGet, "/api/users?page_size=101", tok, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("page_size 101: %d", resp.StatusCode)
	}

	resp, body = e.api(http.MethodPatch, "/api/users/"+u.ID, tok, map[string]any{"name": "Ada King", "avatar": nil})
	if resp.StatusCode != http.StatusOK || string(field(t, body, "name")) != `"Ada King"` {
		t.Fatalf("patch: %d %s", resp.StatusCode, body)
	}
	if got, _ := e.srv.UserByEmail(seedEmail); got.Name != "Ada King" {
		t.Errorf("name after patch: %q", got.Name)
	}
}

func TestDeleteUserRevokesGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tr := e.signedIn()
	u, _ := e.srv.UserByEmail(seedEmail)
	resp, body := e.api(http.MethodDelete, "/api/users/"+u.ID, e.m2mToken(), nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	status, _, body := e.refresh(*tr.RefreshToken)
	wantOIDCError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if _, ok := e.srv.UserByEmail(seedEmail); ok {
		t.Error("user still exists")
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newEnv(t, func(c *Config) { c.DataDir = dir })
	tr := first.signedIn()
	resp, body := first.api(http.MethodPost, "/api/users", first.m2mToken(), map[string]any{"primaryEmail": "kept@example.com", "password": "pw-kept-1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	kid, hookID := first.srv.key.kid, first.srv.Webhooks().HookID()
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}

	second := newEnv(t, func(c *Config) { c.DataDir = dir })
	if second.srv.key.kid != kid || second.srv.Webhooks().HookID() != hookID {
		t.Error("signing key or hook id changed across restart")
	}
	if _, ok := second.srv.UserByEmail("kept@example.com"); !ok {
		t.Fatal("account lost across restart")
	}
	if users := len(second.srv.st.accounts.m); users != 2 {
		t.Errorf("%d accounts after restart; the seed user must not be duplicated", users)
	}
	if status, _, body := second.refresh(*tr.RefreshToken); status != http.StatusOK {
		t.Fatalf("grant lost across restart: %d %s", status, body)
	}
	b := second.browser()
	if loc := b.signIn(second.authURL(authParams{}), "kept@example.com", "pw-kept-1").Redirect(t); loc.Query().Get("code") == "" {
		t.Fatal("password lost across restart")
	}
}
