package main

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/permitdir"
	"reportgate/internal/provision"
	"reportgate/internal/reqid"
)

// startReplica runs the app in-process on addr with env's settings until
// the test ends.
func startReplica(t testing.TB, env map[string]string, addr string) *app {
	t.Helper()
	settings, err := config.Load(config.FromMap(withAddr(env, addr)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := startApp(ctx, settings, reqid.NewLogger(io.Discard, "error", false), ln, nil)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := a.shutdown(0, 10*time.Second); err != nil {
			t.Errorf("replica %s: %v", addr, err)
		}
	})
	return a
}

// twoReplicas are two in-process replicas, A and B, of the app on one
// fresh PostgreSQL database, with the stand-ins sending webhooks to A.
type twoReplicas struct {
	a            *app
	addrA, addrB string
	env          map[string]string // the settings both run with
	dev          *devInstance      // the base URL (A's) and the Logto stand-in
}

// startTwoReplicas starts the stand-ins and both replicas, with settings
// added to their environment, and waits until both are healthy.
func startTwoReplicas(t *testing.T, settings map[string]string) twoReplicas {
	t.Helper()
	pgURL := databasetest.OpenURL(t, database.Postgres)
	t.Chdir(t.TempDir())
	r := twoReplicas{addrA: freeAddr(t), addrB: freeAddr(t)}
	r.env = startDevstack(t, "http://"+r.addrA+"/webhooks/logto")
	r.env["REPORTGATE_DATABASE_URL"] = pgURL
	maps.Copy(r.env, settings)
	r.a = startReplica(t, r.env, r.addrA)
	waitHealthy(t, r.addrA)
	startReplica(t, r.env, r.addrB)
	waitHealthy(t, r.addrB)
	r.dev = &devInstance{appURL: r.env["REPORTGATE_BASE_URL"], logtoURL: r.env["LOGTO_ENDPOINT"]}
	return r
}

// TestReplicaInvalidation: on two replicas of one PostgreSQL database, a
// role change's Forget and a RevokeUser made on A reach B's caches within
// a second.
func TestReplicaInvalidation(t *testing.T) {
	r := startTwoReplicas(t, map[string]string{
		// Long enough that only an invalidation can end a cached decision
		// within this test.
		"PERMIT_DECISION_TTL":          "1h",
		"PERMIT_DENY_TTL":              "1ms",
		"REPORTGATE_SESSION_CACHE_TTL": "1h",
	})
	a, addrA, addrB, env, d := r.a, r.addrA, r.addrB, r.env, r.dev
	p := newPerson(t)
	if !p.signIn(d, "viewer@example.com").Has("user-name") {
		t.Fatal("sign-in through A failed")
	}
	// onB fetches path from replica B with the person's cookies, as the
	// load balancer would (same Host).
	onB := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addrB+path, nil)
		req.Host = addrA
		for _, c := range p.client.Jar.Cookies(mustURL(t, d.appURL)) {
			req.AddCookie(c)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	const report = `data-testid="report"`
	if status, body := onB("/reports"); status != http.StatusOK || !strings.Contains(body, report) {
		t.Fatalf("viewer on B: %d", status)
	}
	var userID string
	if err := a.db.QueryRowContext(context.Background(), `SELECT id FROM users WHERE email = $1`, "viewer@example.com").Scan(&userID); err != nil {
		t.Fatal(err)
	}

	// The sign-in queued a sync of the person, which (re)grants their
	// role: let it finish before taking the role away.
	eventually(t, 30*time.Second, "the sign-in's sync to finish", func() bool {
		st, err := a.prov.State(context.Background(), userID)
		return err == nil && st.Status == provision.StatusSynced
	})
	// The role goes in Permit while B holds the allow it cached. The
	// sync's own Forget (after it finished) may still be on its way and
	// drop that allow, so take the role away until B is seen serving the
	// report from its cache, as this test needs to see a Forget arrive.
	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "B to serve a cached allow after the role is gone", func() bool {
		if err := dir.AssignRole(context.Background(), userID, "viewer"); err != nil {
			t.Fatal(err)
		}
		if _, body := onB("/reports"); !strings.Contains(body, report) {
			return false
		}
		if err := dir.UnassignRole(context.Background(), userID, "viewer"); err != nil {
			t.Fatal(err)
		}
		_, body := onB("/reports")
		return strings.Contains(body, report)
	})
	a.checker.Forget(userID)
	eventually(t, time.Second, "A's Forget to reach B", func() bool {
		_, body := onB("/reports")
		return !strings.Contains(body, report)
	})

	if _, body := onB("/"); !strings.Contains(body, `data-testid="user-name"`) {
		t.Fatal("not signed in on B before the revocation")
	}
	if _, err := a.sessions.RevokeUser(context.Background(), userID); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "A's RevokeUser to reach B", func() bool {
		_, body := onB("/")
		return !strings.Contains(body, `data-testid="user-name"`)
	})
}
