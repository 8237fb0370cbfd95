package people

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

func ids(users []Person) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.ID)
	}
	return out
}

func TestFindSearchesNameAndEmailAndPages(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx, clk := context.Background(), newClock()
		s := NewStore(db, clk.Now)
		for _, u := range []Person{
			{ID: "a", Email: "ann@example.com", Name: "Ann Archer"},
			{ID: "b", Email: "bob@corp.test", Name: "Bob Baker"},
			{ID: "c", Email: "cat@example.com", Name: "Cat 100%_done"},
			{ID: "d", Email: "dan@EXAMPLE.com", Name: "Dan"},
		} {
			if err := s.RecordSignIn(ctx, u); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
		}
		for _, tc := range []struct {
			search string
			want   []string
		}{
			{"", []string{"d", "c", "b", "a"}},
			{"EXAMPLE", []string{"d", "c", "a"}}, // email, any case
			{"baker", []string{"b"}},             // name
			{"%", []string{"c"}},                 // a wildcard matches only itself
			{"_", []string{"c"}},
			{"zzz", nil},
		} {
			got, total, err := s.Find(ctx, tc.search, 10, 0)
			if err != nil || !slices.Equal(ids(got), tc.want) || total != len(tc.want) {
				t.Errorf("Find(%q) = %q, total %d, %v; want %q", tc.search, ids(got), total, err, tc.want)
			}
		}
		var pages [][]string
		for offset := 0; offset < 4; offset += 2 {
			got, total, err := s.Find(ctx, "example", 2, offset)
			if err != nil || total != 3 {
				t.Fatalf("page at %d: total %d, %v", offset, total, err)
			}
			pages = append(pages, ids(got))
		}
		if want := [][]string{{"d", "c"}, {"a"}}; !reflect.DeepEqual(pages, want) {
			t.Errorf("pages = %q, want %q", pages, want)
		}
		names, err := s.Names(ctx, []string{"a", "b", "nobody"})
		if err != nil || len(names) != 2 || names["a"].Name != "Ann Archer" || names["b"].Email != "bob@corp.test" {
			t.Errorf("Names = %+v, %v", names, err)
		}
	})
}

var errLast = errors.New("last admin")

// demote makes target a viewer unless nobody else would hold admin.
func demote(ctx context.Context, tx *RoleTx, target string) error {
	n, err := tx.Holders(ctx, "admin", target)
	if err != nil {
		return err
	}
	if n == 0 {
		return errLast
	}
	return tx.SetRoles(ctx, target, []string{"viewer"})
}

func TestRoleLockHolders(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db, newClock().Now)
		for id, roles := range map[string][]string{"a": {"admin"}, "b": {"admin", "viewer"}, "c": {"superadmin"}} {
			if err := s.RecordSignIn(ctx, Person{ID: id}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetRoles(ctx, id, roles); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.WithRoleLock(ctx, func(tx *RoleTx) error { return demote(ctx, tx, "a") }); err != nil {
			t.Fatalf("demoting a while b is admin: %v", err)
		}
		if err := s.WithRoleLock(ctx, func(tx *RoleTx) error { return demote(ctx, tx, "b") }); !errors.Is(err, errLast) {
			t.Fatalf("demoting the last admin: %v, want refused", err)
		}
		if got := mustGet(t, s, "b").Roles; !slices.Equal(got, []string{"admin", "viewer"}) {
			t.Errorf("b's roles = %q after the refusal", got)
		}
	})
}

// TestRoleLockSerialisesReplicas: two admins demote each other at the same
// moment through two app instances (two connection pools) on one
// PostgreSQL database; exactly one succeeds and one admin remains. Each
// change waits, after counting the admins, until the other has counted too
// or is queued behind the lock, so without the lock both would count two
// admins and both succeed.
func TestRoleLockSerialisesReplicas(t *testing.T) {
	t.Parallel()
	url := databasetest.OpenURL(t, database.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var replicas [2]*Store
	var dbs [2]*database.DB
	for i := range replicas {
		db, err := database.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		dbs[i], replicas[i] = db, NewStore(db, time.Now)
	}
	for _, id := range []string{"a", "b"} {
		if err := replicas[0].RecordSignIn(ctx, Person{ID: id}); err != nil {
			t.Fatal(err)
		}
		if err := replicas[0].SetRoles(ctx, id, []string{"admin"}); err != nil {
			t.Fatal(err)
		}
	}
	var counted atomic.Int32
	queued := func() bool {
		var n int
		err := dbs[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = hashtext(current_schema())::oid AND objid = hashtext($1)::oid`, roleLockName).Scan(&n)
		return err == nil && n > 0
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, target := range []string{"b", "a"} { // a demotes b on one replica, b demotes a on the other
		wg.Go(func() {
			errs[i] = replicas[i].WithRoleLock(ctx, func(tx *RoleTx) error {
				n, err := tx.Holders(ctx, "admin", target)
				if err != nil {
					return err
				}
				counted.Add(1)
				for counted.Load() < 2 && !queued() {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					time.Sleep(5 * time.Millisecond) // polling the condition above
				}
				if n == 0 {
					return errLast
				}
				return tx.SetRoles(ctx, target, []string{"viewer"})
			})
		})
	}
	wg.Wait()
	var ok, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errLast):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("%d succeeded and %d were refused; want exactly one of each", ok, refused)
	}
	admins := 0
	for _, id := range []string{"a", "b"} {
		if slices.Contains(mustGet(t, replicas[1], id).Roles, "admin") {
			admins++
		}
	}
	if admins != 1 {
		t.Fatalf("%d admins remain, want 1", admins)
	}
}
