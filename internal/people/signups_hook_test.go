package people

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// TestSignupsChangeHook checks the hook a cached report hangs on: it runs
// after writes that move the sign-up counts, and only those.
func TestSignupsChangeHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var calls atomic.Int32
	users := NewStore(databasetest.Open(t, database.SQLite), func() time.Time { return now }).
		OnSignupsChange(func() { calls.Add(1) })
	ann := Person{ID: "ann", Email: "ann@example.com", Name: "Ann", RegisteredAt: now}
	steps := []struct {
		name string
		do   func() error
		want int32
	}{
		{"a new sign-up", func() error { return users.RecordSignIn(ctx, ann) }, 1},
		{"the same person signing in again", func() error { return users.RecordSignIn(ctx, ann) }, 1},
		{"a new name only", func() error { ann.Name = "Ann B"; return users.Upsert(ctx, ann) }, 1},
		{"a role that moves her to another bucket", func() error { return users.SetRoles(ctx, "ann", []string{"analyst"}) }, 2},
		{"the same role again", func() error { return users.SetRoles(ctx, "ann", []string{"analyst"}) }, 2},
		{"a batch with two new people", func() error {
			return users.UpsertMany(ctx, []Person{{ID: "bob", RegisteredAt: now}, {ID: "cy", RegisteredAt: now.AddDate(0, 0, -3)}})
		}, 3},
		{"the same batch again", func() error {
			return users.UpsertMany(ctx, []Person{{ID: "bob", RegisteredAt: now}, {ID: "cy", RegisteredAt: now.AddDate(0, 0, -3)}})
		}, 3},
		{"a role change under the role lock", func() error {
			return users.WithRoleLock(ctx, func(tx *RoleTx) error { return tx.SetRoles(ctx, "bob", []string{"admin"}) })
		}, 4},
		{"an erasure", func() error { return users.Delete(ctx, "ann") }, 5},
		{"erasing her again", func() error { return users.Delete(ctx, "ann") }, 5},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := calls.Load(); got != s.want {
			t.Fatalf("%s: hook ran %d times in all, want %d", s.name, got, s.want)
		}
	}
	days, err := users.SignupsByDay(ctx, now.AddDate(0, 0, -3), now)
	if err != nil {
		t.Fatal(err)
	}
	if days[0].Total != 1 || days[3].Total != 1 {
		t.Errorf("counts after the batch: %+v, want cy 3 days ago and bob today", days)
	}
}
