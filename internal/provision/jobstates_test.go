package provision

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/webhook"
)

// TestJobStatesOnlyFromTheLeader runs two services on one PostgreSQL
// database, like two replicas: exactly one of them reports job states.
func TestJobStatesOnlyFromTheLeader(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.Postgres)
	cfg := testConfig(db, newFakePermit())
	var succeeded atomic.Int64
	cfg.OnJobResult = func(result string) {
		if result == "succeeded" {
			succeeded.Add(1)
		}
	}
	a := newService(t, cfg, false)
	body, ev := delivery(t, webhook.EventUserCreated, "leader000001", "l@example.com", "", time.Now())
	if o := ingest(t, a, body, ev); o != OutcomeAccepted {
		t.Fatalf("ingest: %s", o)
	}
	ctx := context.Background()
	if _, leader, err := a.JobStates(ctx); err != nil || leader {
		t.Fatalf("a service that never started: leader=%v err=%v", leader, err)
	}
	a = newService(t, cfg, true)
	b := newService(t, cfg, true)

	var leaderStates map[string]int64
	waitFor(t, 30*time.Second, "one leader", func() bool {
		sa, la, errA := a.JobStates(ctx)
		sb, lb, errB := b.JobStates(ctx)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if la && lb {
			t.Fatal("both replicas report job states")
		}
		if la {
			leaderStates = sa
		}
		if lb {
			leaderStates = sb
		}
		return la || lb
	})
	var total int64
	for _, n := range leaderStates {
		total += n
	}
	if total != 1 {
		t.Errorf("leader counted %v, want the one job", leaderStates)
	}
	waitFor(t, 30*time.Second, "the job's result", func() bool { return succeeded.Load() == 1 })
}

func TestJobResultNamesHowAnAttemptEnded(t *testing.T) {
	t.Parallel()
	job := func(attempt int) *river.Job[syncArgs] {
		return &river.Job[syncArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 3}}
	}
	fail := errors.New("permit down")
	tests := []struct {
		job  *river.Job[syncArgs]
		err  error
		want string
	}{
		{job(1), nil, "succeeded"},
		{job(1), fail, "retried"},
		{job(3), fail, "failed"},
		{job(1), river.JobCancel(fail), "cancelled"},
		{job(1), river.JobSnooze(0), ""},
	}
	for _, tt := range tests {
		if got := jobResult(tt.job, tt.err); got != tt.want {
			t.Errorf("attempt %d, err %v: %q, want %q", tt.job.Attempt, tt.err, got, tt.want)
		}
	}
}
