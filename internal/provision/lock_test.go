package provision

import (
	"context"
	"sync"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// TestTwoReplicasNeverSyncOnePersonAtOnce runs two Services on one
// PostgreSQL database. Replica A's only worker is stuck in a Permit call
// that ignores its deadline; the job is then put back as River's rescuer
// would once RescueAfter has passed, so replica B fetches it while A is
// still inside. B must not call Permit for that person until A is done.
func TestTwoReplicasNeverSyncOnePersonAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := databasetest.OpenURL(t, database.Postgres)
	dbA, dbB := openMigrated(t, url), openMigrated(t, url)

	fp := newFakePermit()
	entered, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	fp.SyncUserFunc = func(ctx context.Context, key, email, name string) error {
		stuck := false
		first.Do(func() { stuck = true })
		if stuck {
			close(entered)
			<-release // ignores ctx: a call that outlives its deadline
		}
		return nil
	}
	cfgA := testConfig(dbA, fp)
	cfgA.Workers = 1
	a := newService(t, cfgA, true)
	newService(t, testConfig(dbB, fp), true)

	const id = "lock00000001"
	createUntilPermit(t, a, id, entered)
	// What the rescuer does to a job running longer than RescueAfter.
	if _, err := dbA.ExecContext(ctx, `UPDATE river_job SET state = 'available',
		scheduled_at = now() - interval '1 second' WHERE state = 'running'`); err != nil {
		t.Fatal(err)
	}
	// Either B runs the rescued job into Permit, or it finds the person
	// locked and snoozes (River counts snoozes in the job's metadata).
	waitFor(t, 30*time.Second, "the rescued job to be run again", func() bool {
		_, _, _, _, concurrent := fp.snapshot()
		return concurrent > 0 || countRows(t, dbA, `SELECT COUNT(*) FROM river_job WHERE metadata ? 'snoozes'`) > 0
	})
	close(release)
	waitStatus(t, a, StatusSynced, id)

	_, syncs, grants, _, concurrent := fp.snapshot()
	if concurrent != 0 {
		t.Errorf("%d Permit calls for %s overlapped another; want the second worker to wait", concurrent, id)
	}
	if grants[id] != 1 || syncs[id] < 1 {
		t.Errorf("syncs %d, grants %d; want at least one sync and exactly one grant", syncs[id], grants[id])
	}
}
