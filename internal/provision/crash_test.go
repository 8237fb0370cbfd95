package provision

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/permitdir"
	"reportgate/internal/webhook"
)

const (
	crashChildEnv  = "PROVISION_CRASH_CHILD_DB"
	crashPermitEnv = "PROVISION_CRASH_CHILD_PERMIT"
)

// TestCrashChild is the worker process of TestCrashRescue, re-executed
// from the test binary. It runs until it is killed.
func TestCrashChild(t *testing.T) {
	dbURL := os.Getenv(crashChildEnv)
	if dbURL == "" {
		t.Skip("runs only as TestCrashRescue's subprocess")
	}
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := permitdir.New(permitdir.Config{APIKey: "permit_key_provision", APIURL: os.Getenv(crashPermitEnv),
		Project: permit.ProjectKey, Environment: permit.EnvironmentKey, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	newService(t, testConfig(db, pc), true)
	fmt.Println("worker ready")
	select {} // until SIGKILL
}

// TestCrashRescue kills a worker process with SIGKILL in the middle of a
// burst, once at least 100 deliveries are acknowledged, and starts a new
// worker on the same database with the production rescue timing. Every
// acknowledged person must be synced, with their role, within a minute of
// the new worker answering, and each exactly once: one Permit user and one
// grant each.
func TestCrashRescue(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	t.Parallel() // most of its time is waiting out the dead worker's leadership
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			crashAndRecover(t, d)
		})
	}
}

func crashAndRecover(t *testing.T, dialect database.Dialect) {
	ctx := context.Background()
	dbURL := databasetest.OpenURL(t, dialect)
	ps := startPermit(t)
	// Slow Permit, so jobs are mid-flight when the worker dies.
	ps.SetFault(permit.Fault{Mode: permit.FaultSlow, Delay: 200 * time.Millisecond, Scope: permit.ScopeAPI})
	db := openMigrated(t, dbURL)
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}

	child, out := startChild(t, "TestCrashChild", crashChildEnv+"="+dbURL, crashPermitEnv+"="+ps.URL)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "worker ready") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("worker process did not start")
	}

	// This process only ingests (the HTTP receiver's side).
	fp := newFakePermit() // never called: this Service is not started
	ingester := newService(t, testConfig(db, fp), false)
	const atKill, n = 100, 120
	var ids []string
	acked := 0
	send := func(i int) {
		id := fmt.Sprintf("crash%07d", i)
		ids = append(ids, id)
		body, ev := delivery(t, webhook.EventUserCreated, id, id+"@example.com", "C", time.Now())
		if ingest(t, ingester, body, ev) == OutcomeAccepted {
			acked++
		}
	}
	for i := range atKill {
		send(i)
	}
	// Kill once the worker is demonstrably busy: some users done and jobs
	// running. Workers finish a batch together and then wait for their next
	// fetch, so "some done" alone can land between batches; with Permit this
	// slow, a job seen running here is still running at the kill.
	waitFor(t, 30*time.Second, "the worker to sync a few users and be running more", func() bool {
		return countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE state = 'synced'`) >= 3 &&
			countRows(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'running'`) >= 1
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	syncedAtKill := countRows(t, db, `SELECT COUNT(*) FROM user_sync WHERE state = 'synced'`)
	stuck := countRows(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'running'`)
	for i := atKill; i < n; i++ {
		send(i)
	}

	// A new worker process on the same database, with the production
	// rescue timing (the default RescueAfter).
	ps.SetFault(permit.Fault{})
	cfg := testConfig(db, ps.client(t))
	cfg.RescueAfter = 0
	newService(t, cfg, true)
	restarted := time.Now()
	waitFor(t, 60*time.Second, "every acknowledged user synced with a role within a minute of the restart", func() bool {
		return countRows(t, db, `SELECT COUNT(*) FROM user_sync
			WHERE state = 'synced' AND default_role_granted_at IS NOT NULL`) == n
	})
	recovery := time.Since(restarted)

	created, granted, refused := ps.counts()
	once := 0
	pc := ps.client(t)
	for _, id := range ids {
		roles, err := pc.AssignedRoles(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if created[id] == 1 && granted[id] == 1 && slices.Equal(roles, []string{"viewer"}) {
			once++
		} else {
			t.Errorf("%s: created %d, granted %d, roles %v; want exactly one of each", id, created[id], granted[id], roles)
		}
	}
	redone := 0
	for _, v := range refused {
		redone += v
	}
	t.Logf("crash (%s): %d acknowledged (%d before the kill), killed with %d synced and %d jobs running; all %d synced with a role %.1f s after the restarted worker answered; %d handled once, %d re-sent writes answered 409",
		dialect, acked, atKill, syncedAtKill, stuck, n, recovery.Seconds(), once, redone)
	if acked != n || once != n {
		t.Fatalf("acknowledged %d, handled once %d; want %d", acked, once, n)
	}
	if stuck == 0 {
		t.Fatal("no job was running at the kill, so nothing was rescued; the test proves nothing")
	}
}
