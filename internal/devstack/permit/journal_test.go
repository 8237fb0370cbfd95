package permit

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/enforcement"
	"github.com/permitio/permit-golang/pkg/models"

	"reportgate/internal/devstack/jsonlog"
)

// serveUnclosed runs a stand-in on dir whose Close is never called, as
// when the process is killed: only what reached the log survives.
func serveUnclosed(t *testing.T, dir string) (*Server, string) {
	t.Helper()
	s, err := New(Config{APIKey: testKey, Schema: testSchema(), DataDir: dir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func allowed(t *testing.T, url, user, action, typ, tenant string) bool {
	t.Helper()
	ok, err := client(t, url, testKey).Check(enforcement.UserBuilder(user).Build(), enforcement.Action(action),
		enforcement.ResourceBuilder(typ).WithTenant(tenant).Build())
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestAcknowledgedWritesSurviveAKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	_, url := serveUnclosed(t, dir)
	c := client(t, url, testKey)
	must[*models.TenantRead](t)(c.Api.Tenants.Create(ctx, *models.NewTenantCreate("acme", "Acme")))
	uc := *models.NewUserCreate("u1")
	uc.SetEmail("u1@example.com")
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, uc))
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "lead", "acme"))
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u2")))
	if err := c.Api.Users.Delete(ctx, "u2"); err != nil {
		t.Fatal(err)
	}

	// The first server is never closed: a second one reads what it logged.
	_, url2 := serveUnclosed(t, dir)
	if !allowed(t, url2, "u1", "manage", "sync", "acme") {
		t.Error("the assignment acknowledged before the kill is lost")
	}
	c2 := client(t, url2, testKey)
	if _, err := c2.Api.Users.Get(ctx, "u2"); err == nil {
		t.Error("a user deleted before the kill came back")
	}
	// The email index is rebuilt from the log too.
	dup := *models.NewUserCreate("u3")
	dup.SetEmail("U1@example.com")
	if _, err := c2.Api.Users.Create(ctx, dup); err == nil {
		t.Error("a second user took u1's email after the restart")
	}
}

func TestLogIsCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, url := serveUnclosed(t, dir)
	s.mu.Lock()
	s.journal.SetMinSize(0)
	startSize := s.journal.Size()
	s.mu.Unlock()
	c := client(t, url, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	appended := int64(0)
	for i := range 200 {
		s.mu.Lock()
		before := s.journal.Size()
		s.mu.Unlock()
		name := strings.Repeat("x", 100) + string(rune('a'+i%26))
		must[*models.UserRead](t)(c.Api.Users.Update(ctx, "u1", models.UserUpdate{FirstName: &name}))
		s.mu.Lock()
		if s.journal.Size() > before {
			appended += s.journal.Size() - before
		}
		s.mu.Unlock()
	}
	s.journal.Wait() // compaction runs in the background
	info, err := os.Stat(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	// Without compaction the log would hold every update.
	if info.Size() >= startSize+appended {
		t.Errorf("log is %d bytes, every write appended is %d: never compacted", info.Size(), startSize+appended)
	}
	if info.Size() > jsonlog.Factor*startSize+4096 {
		t.Errorf("log is %d bytes, over %d× its live size %d", info.Size(), jsonlog.Factor, startSize)
	}
	_, url2 := serveUnclosed(t, dir)
	u := must[*models.UserRead](t)(client(t, url2, testKey).Api.Users.Get(ctx, "u1"))
	if want := strings.Repeat("x", 100) + string(rune('a'+199%26)); u.GetFirstName() != want {
		t.Errorf("after compaction and restart, first name = %q", u.GetFirstName())
	}
}

func TestTornLastLineIsDropped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	_, url := serveUnclosed(t, dir)
	must[*models.UserRead](t)(client(t, url, testKey).Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	f, err := os.OpenFile(filepath.Join(dir, stateFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of write(2): no newline, so never acknowledged.
	if _, err := f.WriteString(`{"changes":[{"op":"user","user":{"key":"u2"`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, url2 := serveUnclosed(t, dir)
	c2 := client(t, url2, testKey)
	if _, err := c2.Api.Users.Get(ctx, "u1"); err != nil {
		t.Errorf("u1 lost: %v", err)
	}
	if _, err := c2.Api.Users.Get(ctx, "u2"); err == nil {
		t.Error("the torn write was applied")
	}
}

// legacyStateJSON is a data dir as the whole-file stand-in left it.
const legacyStateJSON = `{
  "version": 1,
  "organization_id": "0123456789abcdef0123456789abcdef",
  "project_id": "1123456789abcdef0123456789abcdef",
  "environment_id": "2123456789abcdef0123456789abcdef",
  "users": {"old": {"id": "3123456789abcdef0123456789abcdef", "key": "old", "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z", "email": "old@example.com", "first_name": null, "last_name": null, "attributes": {}}},
  "tenants": {"default": {"id": "4123456789abcdef0123456789abcdef", "key": "default", "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z", "name": "Default Tenant", "description": null, "attributes": {}}},
  "role_assignments": [{"id": "5123456789abcdef0123456789abcdef", "user": "old", "role": "viewer", "tenant": "default",
    "created_at": "2026-01-01T00:00:00Z"}],
  "resources": {"reports": {"id": "6123456789abcdef0123456789abcdef", "key": "reports", "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z", "name": "Reports", "urn": null, "description": null,
    "actions": {"view": {"id": "7123456789abcdef0123456789abcdef", "name": "view", "description": null, "attributes": {}}},
    "attributes": {}}},
  "roles": {"viewer": {"id": "8123456789abcdef0123456789abcdef", "key": "viewer", "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z", "name": "Viewer", "description": null, "permissions": ["reports:view"],
    "extends": [], "attributes": {}}}
}`

func TestLegacyDataDirLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(dir, legacyFile), []byte(legacyStateJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	s, url := serveUnclosed(t, dir)
	if org, _, _ := s.Scope(); org != "0123456789abcdef0123456789abcdef" {
		t.Errorf("organization id = %q, want the legacy file's", org)
	}
	if !allowed(t, url, "old", "view", "reports", "default") {
		t.Error("the legacy assignment does not decide")
	}
	if _, err := os.Stat(filepath.Join(dir, legacyFile)); !os.IsNotExist(err) {
		t.Errorf("legacy file still there after migration: %v", err)
	}
	// The log now holds it all, and later writes go to the log.
	must[*models.UserRead](t)(client(t, url, testKey).Api.Users.Create(ctx, *models.NewUserCreate("new")))
	_, url2 := serveUnclosed(t, dir)
	c2 := client(t, url2, testKey)
	for _, key := range []string{"old", "new"} {
		if _, err := c2.Api.Users.Get(ctx, key); err != nil {
			t.Errorf("user %s lost after migration and restart: %v", key, err)
		}
	}
	if !allowed(t, url2, "old", "view", "reports", "default") {
		t.Error("the legacy assignment is lost after migration and restart")
	}
}

// A write waits for its own time, and writes reach the PDP in order: when
// the delay shrinks, a later write that is due brings the earlier ones.
func TestPropagationIsExact(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u1")))
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("u2")))
	// No delay: visible to the very next decision.
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u1", "viewer", "default"))
	if !allowed(t, s.URL, "u1", "view", "reports", "default") {
		t.Fatal("with no delay, the write is not visible to the next decision")
	}

	s.SetPropagationDelay(time.Minute)
	must[*models.RoleAssignmentRead](t)(c.Api.Users.AssignRole(ctx, "u2", "viewer", "default"))
	s.clock.Advance(time.Minute - time.Nanosecond)
	if allowed(t, s.URL, "u2", "view", "reports", "default") {
		t.Fatal("visible before its time")
	}
	s.clock.Advance(time.Nanosecond)
	if !allowed(t, s.URL, "u2", "view", "reports", "default") {
		t.Fatal("not visible when its time came")
	}

	if _, err := c.Api.Users.UnassignRole(ctx, "u2", "viewer", "default"); err != nil {
		t.Fatal(err)
	}
	s.SetPropagationDelay(0)
	if _, err := c.Api.Users.UnassignRole(ctx, "u1", "viewer", "default"); err != nil {
		t.Fatal(err)
	}
	if allowed(t, s.URL, "u2", "view", "reports", "default") || allowed(t, s.URL, "u1", "view", "reports", "default") {
		t.Error("a due write did not bring the earlier pending one with it")
	}
	if n := s.pdp.pending(); n != 0 {
		t.Errorf("%d writes still pending after all came due", n)
	}
}

// Pending writes are dropped from the queue as they come due, even when no
// decision is ever read.
func TestPendingWritesDoNotAccumulate(t *testing.T) {
	t.Parallel()
	s := start(t, func(c *Config) { c.PropagationDelay = time.Second })
	ctx := context.Background()
	c := client(t, s.URL, testKey)
	for _, key := range []string{"a", "b", "c", "d"} {
		must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate(key)))
	}
	if n := s.pdp.pending(); n != 4 {
		t.Fatalf("pending = %d, want 4 within the delay", n)
	}
	s.clock.Advance(time.Second)
	must[*models.UserRead](t)(c.Api.Users.Create(ctx, *models.NewUserCreate("e")))
	if n := s.pdp.pending(); n != 1 {
		t.Errorf("pending = %d after the first four came due, want 1", n)
	}
}
