package logto

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// createUser creates a user through the Management API and returns its id.
func createUser(t *testing.T, e *env, token string, body map[string]any) struct{ ID string } {
	t.Helper()
	resp, data := e.api(http.MethodPost, "/api/users", token, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create user: %d %s", resp.StatusCode, data)
	}
	var u struct{ ID string }
	if err := json.Unmarshal(data, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// The first stand-in is not closed before the second reads the data dir,
// as when the process is killed: only what reached the log survives.
func TestChangesSurviveAKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newEnv(t, func(c *Config) { c.DataDir = dir })
	tr := first.signedIn()
	token := first.m2mToken()
	kept := createUser(t, first, token, map[string]any{"primaryEmail": "kept@example.com", "username": "kept"})
	gone := createUser(t, first, token, map[string]any{"primaryEmail": "gone@example.com"})
	if resp, body := first.api(http.MethodPatch, "/api/users/"+kept.ID, token, map[string]any{"name": "Renamed"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("patch: %d %s", resp.StatusCode, body)
	}
	if resp, body := first.api(http.MethodDelete, "/api/users/"+gone.ID, token, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}

	second := newEnv(t, func(c *Config) { c.DataDir = dir })
	if u, ok := second.srv.UserByEmail("kept@example.com"); !ok || u.Name != "Renamed" {
		t.Errorf("after the kill: %+v, %v; want the renamed user", u, ok)
	}
	if _, ok := second.srv.UserByEmail("gone@example.com"); ok {
		t.Error("a deleted user came back")
	}
	if status, _, body := second.refresh(*tr.RefreshToken); status != http.StatusOK {
		t.Errorf("grant lost: %d %s", status, body)
	}
	// The email and username indexes are rebuilt from the log.
	for _, body := range []map[string]any{{"primaryEmail": "KEPT@example.com"}, {"username": "kept"}} {
		if resp, data := second.api(http.MethodPost, "/api/users", second.m2mToken(), body); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("duplicate %v after restart: %d %s", body, resp.StatusCode, data)
		}
	}
	// The deleted user's email is free again.
	createUser(t, second, second.m2mToken(), map[string]any{"primaryEmail": "gone@example.com"})
}

func TestLogIsCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, func(c *Config) { c.DataDir = dir })
	e.srv.mu.Lock()
	e.srv.st.log.SetMinSize(0)
	startSize := e.srv.st.log.Size()
	e.srv.mu.Unlock()
	token := e.m2mToken()
	// Many records, so a compaction that mixed up keys and records shows.
	others := map[string]string{}
	for i := range 30 {
		email := fmt.Sprintf("other%d@example.com", i)
		others[createUser(t, e, token, map[string]any{"primaryEmail": email}).ID] = email
	}
	u := createUser(t, e, token, map[string]any{"primaryEmail": "p@example.com"})
	var appended int64
	for i := range 100 {
		e.srv.mu.Lock()
		before := e.srv.st.log.Size()
		e.srv.mu.Unlock()
		name := strings.Repeat("n", 200) + string(rune('a'+i%26))
		if resp, body := e.api(http.MethodPatch, "/api/users/"+u.ID, token, map[string]any{"name": name}); resp.StatusCode != http.StatusOK {
			t.Fatalf("patch: %d %s", resp.StatusCode, body)
		}
		e.srv.mu.Lock()
		if e.srv.st.log.Size() > before {
			appended += e.srv.st.log.Size() - before
		}
		e.srv.mu.Unlock()
	}
	e.srv.st.log.Wait() // compaction runs in the background
	info, err := os.Stat(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() >= startSize+appended {
		t.Errorf("log is %d bytes, every change appended is %d: never compacted", info.Size(), startSize+appended)
	}
	second := newEnv(t, func(c *Config) { c.DataDir = dir })
	if got, ok := second.srv.UserByEmail("p@example.com"); !ok || got.Name != strings.Repeat("n", 200)+string(rune('a'+99%26)) {
		t.Errorf("after compaction and restart: %q, %v", got.Name, ok)
	}
	for id, email := range others {
		if got, ok := second.srv.lookupUser(id); !ok || got.PrimaryEmail != email {
			t.Errorf("user %s after compaction and restart: %+v, %v; want %s", id, got, ok, email)
		}
	}
}

func TestLegacyStateFileLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	legacy := `{"hookId":"legacyhook0000000000001","signingKey":null,
	  "accounts":[{"id":"legacyuser01","primaryEmail":"legacy@example.com","name":"Old Timer",
	    "lastSignInAt":"0001-01-01T00:00:00Z","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z",
	    "isSuspended":false,"hasPassword":false}],
	  "sessions":[],"grants":[],"refreshTokens":[],"accessTokens":[]}`
	if err := os.WriteFile(filepath.Join(dir, legacyFile), []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.DataDir = dir })
	if u, ok := e.srv.UserByEmail("legacy@example.com"); !ok || u.ID != "legacyuser01" {
		t.Errorf("legacy account: %+v, %v", u, ok)
	}
	if id := e.srv.Webhooks().HookID(); id != "legacyhook0000000000001" {
		t.Errorf("hook id = %q, want the legacy file's", id)
	}
	if _, err := os.Stat(filepath.Join(dir, legacyFile)); !os.IsNotExist(err) {
		t.Errorf("legacy file still there after migration: %v", err)
	}
	kid := e.srv.key.kid
	second := newEnv(t, func(c *Config) { c.DataDir = dir })
	if _, ok := second.srv.UserByEmail("legacy@example.com"); !ok {
		t.Error("legacy account lost after migration and restart")
	}
	if second.srv.key.kid != kid {
		t.Error("the key made on migration was not kept")
	}
}

func TestTornLastLineIsDropped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newEnv(t, func(c *Config) { c.DataDir = dir })
	createUser(t, first, first.m2mToken(), map[string]any{"primaryEmail": "whole@example.com"})
	f, err := os.OpenFile(filepath.Join(dir, stateFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`[{"t":"accounts","k":"torn00000001","v":{"id":"torn`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	second := newEnv(t, func(c *Config) { c.DataDir = dir })
	if _, ok := second.srv.UserByEmail("whole@example.com"); !ok {
		t.Error("the write before the torn one is lost")
	}
	if _, ok := second.srv.lookupUser("torn00000001"); ok {
		t.Error("the torn write was applied")
	}
}
