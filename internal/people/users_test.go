package people

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/testkit"
)

// newClock starts every store test at the same fixed instant.
func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2025, 11, 3, 9, 30, 0, 0, time.UTC))
}

func mustGet(t *testing.T, s *Store, id string) Person {
	t.Helper()
	u, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRecordSignInKeepsFirstSeenAndRefreshesProfile(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		first := clk.Now()
		if err := s.RecordSignIn(ctx, Person{ID: "u1", Email: "a@example.com", Name: "Ann"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(48 * time.Hour)
		if err := s.RecordSignIn(ctx, Person{ID: "u1", Email: "ann@example.com", Name: "Ann B"}); err != nil {
			t.Fatal(err)
		}
		want := Person{ID: "u1", Email: "ann@example.com", Name: "Ann B", RegisteredAt: first, FirstSeenAt: first}
		if got := mustGet(t, s, "u1"); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
		assertAggregate(t, db)
	})
}

func TestUpsertFillsUnknownRegisteredAtOnce(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		if err := s.RecordSignIn(ctx, Person{ID: "u1"}); err != nil {
			t.Fatal(err)
		}
		logtoCreated := clk.Now().AddDate(0, 0, -10)
		if err := s.Upsert(ctx, Person{ID: "u1", RegisteredAt: logtoCreated}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1").RegisteredAt; !got.Equal(logtoCreated) {
			t.Errorf("RegisteredAt = %s, want Logto's %s", got, logtoCreated)
		}
		// Once known it stays: a later, different value is ignored.
		if err := s.Upsert(ctx, Person{ID: "u1", RegisteredAt: logtoCreated.AddDate(0, 0, 3)}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1").RegisteredAt; !got.Equal(logtoCreated) {
			t.Errorf("RegisteredAt = %s after a second value, want it kept at %s", got, logtoCreated)
		}
		// The person moved from today's cell to the Logto day.
		days, err := s.SignupsByDay(ctx, logtoCreated, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if days[0].Total != 1 || days[len(days)-1].Total != 0 {
			t.Errorf("first day %d, today %d sign-ups; want 1, 0", days[0].Total, days[len(days)-1].Total)
		}
		assertAggregate(t, db)
	})
}

func TestSetRoles(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		if err := s.SetRoles(ctx, "nobody", []string{"viewer"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: err = %v, want ErrNotFound", err)
		}
		if err := s.RecordSignIn(ctx, Person{ID: "u1"}); err != nil {
			t.Fatal(err)
		}
		checked := clk.Now()
		if err := s.SetRoles(ctx, "u1", []string{"viewer", "admin", "viewer", ""}); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, "u1")
		if want := []string{"admin", "viewer"}; !slices.Equal(got.Roles, want) || !got.RolesCheckedAt.Equal(checked) {
			t.Errorf("roles %q checked %s, want %q checked %s", got.Roles, got.RolesCheckedAt, want, checked)
		}

		// The same snapshot in another order writes nothing.
		clk.Advance(time.Hour)
		if err := s.SetRoles(ctx, "u1", []string{"admin", "viewer"}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1"); !got.RolesCheckedAt.Equal(checked) {
			t.Errorf("unchanged snapshot rewrote RolesCheckedAt to %s", got.RolesCheckedAt)
		}

		if err := s.SetRoles(ctx, "u1", nil); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1"); got.Roles != nil || !got.RolesCheckedAt.Equal(clk.Now()) {
			t.Errorf("after clearing: roles %q checked %s, want none checked %s", got.Roles, got.RolesCheckedAt, clk.Now())
		}
		assertAggregate(t, db)
	})
}

func TestUpsertIgnoresStaleRoleSnapshot(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		if err := s.Upsert(ctx, Person{ID: "u1", Roles: []string{"analyst"}, RolesCheckedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := s.Upsert(ctx, Person{ID: "u1", Roles: []string{"viewer"}, RolesCheckedAt: clk.Now().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1").Roles; !slices.Equal(got, []string{"analyst"}) {
			t.Errorf("roles = %q, want the fresher [analyst]", got)
		}
		// Without a check time the roles of an Upsert are not a snapshot.
		if err := s.Upsert(ctx, Person{ID: "u1", Roles: []string{"admin"}}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "u1").Roles; !slices.Equal(got, []string{"analyst"}) {
			t.Errorf("roles = %q, want [analyst] kept", got)
		}
	})
}

func TestGetUnknownUser(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		_, err := NewStore(db, nil).Get(context.Background(), "missing")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestListNewestFirst(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		for _, id := range []string{"a", "b", "c", "d"} {
			if err := s.RecordSignIn(ctx, Person{ID: id, Email: id + "@example.com"}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
		}
		var pages [][]string
		for offset := 0; offset < 6; offset += 3 {
			users, err := s.List(ctx, 3, offset)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u.ID)
			}
			pages = append(pages, ids)
		}
		if want := [][]string{{"d", "c", "b"}, {"a"}}; !reflect.DeepEqual(pages, want) {
			t.Errorf("pages = %q, want %q", pages, want)
		}
		if _, err := s.List(ctx, 0, 0); err == nil {
			t.Error("List(0, 0) succeeded, want an error")
		}
	})
}

func TestDeleteErasesAndUncounts(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		if err := s.RecordSignIn(ctx, Person{ID: "u1", Email: "a@example.com"}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second delete finds nothing and is fine
			if err := s.Delete(ctx, "u1"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Get(ctx, "u1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
		}
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM signup_days`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("%d signup_days rows left, want 0", rows)
		}
	})
}

// TestTombstoneKeepsTheRecordErased: once the sync holds a User.Deleted
// tombstone, no write brings the person's record back or counts them.
func TestTombstoneKeepsTheRecordErased(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		if _, err := db.ExecContext(ctx, `INSERT INTO user_sync (user_id, state, deleted_at, generation, updated_at)
			VALUES ('u1', 'pending', 1, 1, 1)`); err != nil {
			t.Fatal(err)
		}
		u := Person{ID: "u1", Email: "a@example.com", Name: "Ann"}
		for what, write := range map[string]func() error{
			"Upsert":       func() error { return s.Upsert(ctx, u) },
			"RecordSignIn": func() error { return s.RecordSignIn(ctx, u) },
			"UpsertMany":   func() error { return s.UpsertMany(ctx, []Person{u}) },
		} {
			if err := write(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got, err := s.Get(ctx, "u1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s wrote the deleted person's record back: %+v (%v)", what, got, err)
			}
		}
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM signup_days`).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("%d signup_days rows (%v), want 0", rows, err)
		}
	})
}

func TestSignupsByDayUTCBoundariesZeroFillAndRoles(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db, nil)
		lastInstant := time.Date(2025, 11, 3, 23, 59, 59, 999e6, time.UTC)
		nextDay := time.Date(2025, 11, 4, 0, 0, 0, 0, time.UTC)
		// 01:00 on Nov 4 in UTC+2 is still Nov 3 in UTC.
		east := time.Date(2025, 11, 4, 1, 0, 0, 0, time.FixedZone("EET", 2*3600))
		users := []Person{
			{ID: "late", RegisteredAt: lastInstant, Roles: []string{"viewer"}, RolesCheckedAt: nextDay},
			{ID: "east", RegisteredAt: east},
			{ID: "early", RegisteredAt: nextDay, Roles: []string{"viewer", "admin"}, RolesCheckedAt: nextDay},
		}
		for _, u := range users {
			if err := s.Upsert(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		days, err := s.SignupsByDay(ctx, time.Date(2025, 11, 2, 15, 0, 0, 0, time.UTC), time.Date(2025, 11, 5, 1, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		d := func(day int) time.Time { return time.Date(2025, 11, day, 0, 0, 0, 0, time.UTC) }
		want := []DayCount{
			{Day: d(2), Total: 0, ByRole: map[string]int{}},
			{Day: d(3), Total: 2, ByRole: map[string]int{"viewer": 1, "": 1}},
			{Day: d(4), Total: 1, ByRole: map[string]int{"admin": 1}},
			{Day: d(5), Total: 0, ByRole: map[string]int{}},
		}
		if !reflect.DeepEqual(days, want) {
			t.Errorf("got  %+v\nwant %+v", days, want)
		}
		if _, err := s.SignupsByDay(ctx, d(5), d(4)); err == nil {
			t.Error("reversed range succeeded, want an error")
		}
	})
}

func TestBucketPrecedence(t *testing.T) {
	tests := []struct {
		roles []string
		want  string
	}{
		{nil, ""},
		{[]string{"viewer", "admin", "analyst"}, "admin"},
		{[]string{"viewer", "analyst"}, "analyst"},
		{[]string{"zeta", "viewer"}, "viewer"},
		{[]string{"zeta", "beta"}, "beta"},
		{[]string{""}, ""},
	}
	for _, tt := range tests {
		if got := Bucket(tt.roles); got != tt.want {
			t.Errorf("Bucket(%q) = %q, want %q", tt.roles, got, tt.want)
		}
	}
}

// TestAggregateMatchesRecomputation drives random operation sequences
// (fixed seed, so failures replay) and checks after every step that
// signup_days equals a recount of the users table.
func TestAggregateMatchesRecomputation(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		rng := rand.New(rand.NewPCG(20251103, 1))
		ids := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
		roleKeys := []string{"admin", "analyst", "viewer", "zeta", "=evil"}
		randomRoles := func() []string {
			var roles []string
			for _, r := range roleKeys {
				if rng.IntN(3) == 0 {
					roles = append(roles, r)
				}
			}
			return roles
		}
		randomTime := func() time.Time { // zero (unknown) a third of the time, else within ±4 days
			if rng.IntN(3) == 0 {
				return time.Time{}
			}
			return clk.Now().Add(time.Duration(rng.IntN(8*24)-4*24) * time.Hour)
		}
		for step := range 300 {
			id := ids[rng.IntN(len(ids))]
			var op string
			var err error
			switch rng.IntN(5) {
			case 0:
				op, err = "RecordSignIn", s.RecordSignIn(ctx, Person{ID: id, Email: id + "@example.com", RegisteredAt: randomTime()})
			case 1:
				op, err = "Upsert", s.Upsert(ctx, Person{ID: id, Name: fmt.Sprint(step), RegisteredAt: randomTime(), Roles: randomRoles(), RolesCheckedAt: randomTime()})
			case 2:
				op, err = "SetRoles", s.SetRoles(ctx, id, randomRoles())
				if errors.Is(err, ErrNotFound) {
					err = nil
				}
			case 3:
				op, err = "Delete", s.Delete(ctx, id)
			case 4:
				op = "advance clock"
				clk.Advance(time.Duration(rng.IntN(30)) * time.Hour)
			}
			if err != nil {
				t.Fatalf("step %d %s %s: %v", step, op, id, err)
			}
			if !assertAggregate(t, db) {
				t.Fatalf("aggregate diverged at step %d (%s %s)", step, op, id)
			}
		}
	})
}

// TestConcurrentWritesKeepAggregate races writers on the same people; on
// PostgreSQL this exercises the insert race and the row locks.
func TestConcurrentWritesKeepAggregate(t *testing.T) {
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db, func() time.Time { return time.Date(2025, 11, 3, 12, 0, 0, 0, time.UTC) })
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				roleSets := [][]string{{"admin"}, {"viewer"}, nil, {"analyst", "viewer"}}
				for i := range 20 {
					id := fmt.Sprintf("u%d", i%3)
					if err := s.RecordSignIn(ctx, Person{ID: id, Email: fmt.Sprintf("%s-%d@example.com", id, g)}); err != nil {
						errs <- err
						return
					}
					if err := s.SetRoles(ctx, id, roleSets[(g+i)%len(roleSets)]); err != nil && !errors.Is(err, ErrNotFound) {
						errs <- err
						return
					}
					if i%7 == g%7 {
						if err := s.Delete(ctx, id); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		assertAggregate(t, db)
	})
}

// assertAggregate reports (and returns false) when signup_days differs from
// a recount of users done here independently of the package's code: each
// person counted once, on the UTC day of registered_at, under their
// highest-precedence role.
func assertAggregate(t *testing.T, db *database.DB) bool {
	t.Helper()
	ctx := context.Background()
	precedence := []string{"admin", "analyst", "viewer"}
	bucketOf := func(roles []string) string {
		for _, p := range precedence {
			if slices.Contains(roles, p) {
				return p
			}
		}
		var others []string
		for _, r := range roles {
			if r != "" {
				others = append(others, r)
			}
		}
		slices.Sort(others)
		if len(others) == 0 {
			return ""
		}
		return others[0]
	}

	want := map[string]int{}
	rows, err := db.QueryContext(ctx, `SELECT registered_at, roles FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ms int64
		var rolesJSON string
		if err := rows.Scan(&ms, &rolesJSON); err != nil {
			t.Fatal(err)
		}
		roles, err := decodeRoles(rolesJSON)
		if err != nil {
			t.Fatal(err)
		}
		day := time.UnixMilli(ms).UTC().Format(time.DateOnly)
		want[day+"/"+bucketOf(roles)]++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}

	got := map[string]int{}
	rows, err = db.QueryContext(ctx, `SELECT day, role, count FROM signup_days`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day int64
		var role string
		var n int
		if err := rows.Scan(&day, &role, &n); err != nil {
			t.Fatal(err)
		}
		got[time.Unix(day*86400, 0).UTC().Format(time.DateOnly)+"/"+role] += n
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("signup_days = %v\nrecount    = %v", got, want)
		return false
	}
	return true
}
