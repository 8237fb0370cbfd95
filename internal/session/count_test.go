package session_test

import (
	"context"
	"maps"
	"testing"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

func TestCountActive(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		a := newApp(t, db)
		alice1, alice2, bob, idler := a.client(t), a.client(t), a.client(t), a.client(t)
		idler.get("/set?user_id=idler")
		a.clock.Advance(idle / 2)
		alice1.get("/set?user_id=alice")
		alice2.get("/set?user_id=alice")
		bob.get("/set?user_id=bob")
		a.clock.Advance(idle/2 + touch) // the idler's session is past its idle timeout
		got, err := a.store.CountActive(context.Background(), []string{"alice", "bob", "idler", "nobody"})
		if want := map[string]int{"alice": 2, "bob": 1}; err != nil || !maps.Equal(got, want) {
			t.Fatalf("CountActive = %v, %v; want %v", got, err, want)
		}
		if _, err := a.store.RevokeUser(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		got, err = a.store.CountActive(context.Background(), []string{"alice", "bob"})
		if want := map[string]int{"bob": 1}; err != nil || !maps.Equal(got, want) {
			t.Fatalf("after revoking alice: %v, %v; want %v", got, err, want)
		}
		if got, err := a.store.CountActive(context.Background(), nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %v, %v", got, err)
		}
	})
}
