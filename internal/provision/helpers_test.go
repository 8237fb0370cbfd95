package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/database"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/logtoapi"
	"reportgate/internal/permitdir"
	"reportgate/internal/testkit/standin"
	"reportgate/internal/webhook"
)

// fakePermit is a Permit of function fields and counters. Nil funcs
// succeed. It also notices two calls for one user at the same time.
type fakePermit struct {
	SyncUserFunc   func(ctx context.Context, key, email, name string) error
	AssignRoleFunc func(ctx context.Context, key, role string) error
	DeleteUserFunc func(ctx context.Context, key string) error

	mu         sync.Mutex
	users      map[string]string // key → email of the last sync
	syncs      map[string]int
	grants     map[string]int
	deletes    map[string]int
	inflight   map[string]int
	concurrent int // calls that overlapped another call for the same user
}

func newFakePermit() *fakePermit {
	return &fakePermit{users: map[string]string{}, syncs: map[string]int{}, grants: map[string]int{},
		deletes: map[string]int{}, inflight: map[string]int{}}
}

func (f *fakePermit) enter(key string) func() {
	f.mu.Lock()
	f.inflight[key]++
	if f.inflight[key] > 1 {
		f.concurrent++
	}
	f.mu.Unlock()
	return func() { f.mu.Lock(); f.inflight[key]--; f.mu.Unlock() }
}

func (f *fakePermit) SyncUser(ctx context.Context, key, email, name string) error {
	defer f.enter(key)()
	if f.SyncUserFunc != nil {
		if err := f.SyncUserFunc(ctx, key, email, name); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[key] = email
	f.syncs[key]++
	return nil
}

func (f *fakePermit) AssignRole(ctx context.Context, key, role string) error {
	defer f.enter(key)()
	if f.AssignRoleFunc != nil {
		if err := f.AssignRoleFunc(ctx, key, role); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants[key]++
	return nil
}

func (f *fakePermit) DeleteUser(ctx context.Context, key string) error {
	defer f.enter(key)()
	if f.DeleteUserFunc != nil {
		if err := f.DeleteUserFunc(ctx, key); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, key)
	f.deletes[key]++
	return nil
}

// snapshot returns copies of the counters under the lock.
func (f *fakePermit) snapshot() (users map[string]string, syncs, grants, deletes map[string]int, concurrent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.users), maps.Clone(f.syncs), maps.Clone(f.grants), maps.Clone(f.deletes), f.concurrent
}

type fakeRevoker struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *fakeRevoker) RevokeUser(_ context.Context, userID string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[userID]++
	return 1, nil
}

func (r *fakeRevoker) count(userID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[userID]
}

type fakeLogtoUsers struct {
	mu    sync.Mutex
	users map[string]webhook.User
	calls atomic.Int64
}

func (d *fakeLogtoUsers) GetUser(_ context.Context, id string) (webhook.User, error) {
	d.calls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[id]
	if !ok {
		return webhook.User{}, fmt.Errorf("get logto user %s: %w", id, logtoapi.ErrNotFound)
	}
	return u, nil
}

// testConfig is a Config for fast tests: short polling and backoff.
func testConfig(db *database.DB, p Permit) Config {
	return Config{
		DB:           db,
		Permit:       p,
		Sessions:     &fakeRevoker{},
		MaxAttempts:  10,
		RetryBackoff: func(int) time.Duration { return 20 * time.Millisecond },
		RescueAfter:  time.Minute,
		PollInterval: 20 * time.Millisecond,
	}
}

// openMigrated opens the database at url (one more handle on it, as a
// second process would have) with the app's tables, closed at cleanup.
func openMigrated(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.OpenMigrated(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startChild runs the test named test of this test binary as a separate
// process, with env added to ours, and returns it with its standard
// output; it is killed, if still running, when t ends.
func startChild(t *testing.T, test string, env ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	child.Env = append(os.Environ(), env...)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	return child, out
}

// createUntilPermit ingests a User.Created for id and waits until a job
// has reached Permit (entered closed by the fake).
func createUntilPermit(t testing.TB, s *Service, id string, entered <-chan struct{}) {
	t.Helper()
	body, ev := delivery(t, webhook.EventUserCreated, id, id+"@example.com", "P", time.Now())
	if o := ingest(t, s, body, ev); o != OutcomeAccepted {
		t.Fatalf("ingest %s: %s", id, o)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatalf("no job for %s reached Permit", id)
	}
}

// newService migrates River's tables, builds the Service and, if start,
// starts it; it is stopped at cleanup.
func newService(t testing.TB, cfg Config, start bool) *Service {
	t.Helper()
	ctx := context.Background()
	if err := Migrate(ctx, cfg.DB); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if start {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitStatus(t testing.TB, s *Service, status string, ids ...string) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d users %s", len(ids), status), func() bool {
		for _, id := range ids {
			st, err := s.State(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != status {
				return false
			}
		}
		return true
	})
}

// user is a Logto user object as in webhook payloads.
func userObject(id, email, name string, suspended bool) map[string]any {
	return map[string]any{
		"id": id, "username": nil, "primaryEmail": email, "primaryPhone": nil, "name": name,
		"avatar": nil, "customData": map[string]any{}, "identities": map[string]any{}, "lastSignInAt": nil,
		"createdAt": 1754042399000, "updatedAt": 1754042399000, "profile": map[string]any{},
		"applicationId": nil, "isSuspended": suspended,
	}
}

// delivery builds a webhook body of the given event and parses it with
// the real webhook.Parse. at is the payload's createdAt.
func delivery(t testing.TB, event, userID, email, name string, at time.Time, opts ...func(map[string]any)) ([]byte, webhook.Event) {
	t.Helper()
	p := map[string]any{"event": event, "createdAt": at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), "hookId": "hook0000000000000000a"}
	switch event {
	case webhook.EventPostRegister, webhook.EventPostSignIn:
		p["interactionEvent"] = "Register"
		p["sessionId"] = "sess-" + userID
		p["userId"] = userID
		p["userIp"] = "::ffff:10.0.0.1"
		p["user"] = userObject(userID, email, name, false)
	case webhook.EventUserCreated:
		p["path"], p["method"], p["status"], p["params"], p["matchedRoute"] = "/users", "POST", 200, map[string]any{}, "/users"
		p["data"] = userObject(userID, email, name, false)
	default:
		route := "/users/:userId"
		method, status := "PATCH", 200
		switch event {
		case webhook.EventUserDeleted:
			method, status = "DELETE", 204
		case webhook.EventUserSuspension:
			route += "/is-suspended"
		}
		p["path"], p["method"], p["status"] = strings.Replace(route, ":userId", userID, 1), method, status
		p["params"], p["matchedRoute"] = map[string]any{"userId": userID}, route
		p["data"] = userObject(userID, email, name, false)
	}
	for _, o := range opts {
		o(p)
	}
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.Parse(body)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return body, ev
}

func suspended(v bool) func(map[string]any) {
	return func(p map[string]any) { p["data"].(map[string]any)["isSuspended"] = v }
}

func ingest(t testing.TB, s *Service, body []byte, ev webhook.Event) Outcome {
	t.Helper()
	o, err := s.Ingest(context.Background(), body, ev)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func countRows(t testing.TB, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func jobCount(t testing.TB, s *Service, userID string) int {
	t.Helper()
	res, err := s.river.JobList(context.Background(), river.NewJobListParams().Kinds(jobKind).
		States(rivertype.JobStates()...).First(10000))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range res.Jobs {
		var a syncArgs
		if json.Unmarshal(j.EncodedArgs, &a) == nil && a.UserID == userID {
			n++
		}
	}
	return n
}

// permitStandin runs the local Permit stand-in behind a recorder that
// counts successful user creations and role grants per user.
type permitStandin struct {
	*standin.Permit
	mu      sync.Mutex
	created map[string]int // 2xx POST /users by key
	granted map[string]int // 2xx POST /users/{key}/roles
	refused map[string]int // 409 on either
}

func startPermit(t testing.TB) *permitStandin {
	t.Helper()
	ps := &permitStandin{created: map[string]int{}, granted: map[string]int{}, refused: map[string]int{}}
	ps.Permit = standin.StartPermit(t, permit.Config{APIKey: "permit_key_provision", Schema: standin.DefaultSchema(t)},
		standin.Wrap(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/users") {
					var in struct{ Key string }
					body, _ := io.ReadAll(r.Body)
					_ = json.Unmarshal(body, &in)
					r.Body = io.NopCloser(bytes.NewReader(body))
					rec := &statusRecorder{ResponseWriter: w}
					h.ServeHTTP(rec, r)
					ps.record(in.Key, rec.status, ps.created)
					return
				}
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/roles") {
					parts := strings.Split(r.URL.Path, "/")
					key := parts[len(parts)-2]
					rec := &statusRecorder{ResponseWriter: w}
					h.ServeHTTP(rec, r)
					ps.record(key, rec.status, ps.granted)
					return
				}
				h.ServeHTTP(w, r)
			})
		}))
	return ps
}

func (ps *permitStandin) record(key string, status int, ok map[string]int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	switch {
	case status/100 == 2:
		ok[key]++
	case status == http.StatusConflict:
		ps.refused[key]++
	}
}

func (ps *permitStandin) counts() (created, granted, refused map[string]int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return maps.Clone(ps.created), maps.Clone(ps.granted), maps.Clone(ps.refused)
}

func (ps *permitStandin) client(t testing.TB) *permitdir.Client {
	t.Helper()
	c, err := permitdir.New(permitdir.Config{APIKey: "permit_key_provision", APIURL: ps.URL,
		Project: permit.ProjectKey, Environment: permit.EnvironmentKey, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Hijack lets FaultDown reset the connection through the recorder.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
