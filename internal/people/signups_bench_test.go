package people

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// BenchmarkSignupsByDay shows that reading the 30-day report costs the same
// with 1k and 50k users on SQLite: it reads signup_days (at most 30 days ×
// roles rows), not users. The group-users case is the best query without
// the aggregate (an index range over users.registered_at, grouped), whose
// cost grows with the number of sign-ups in the window; it is there for
// scale. 1k users spread over a year leave some day×role cells empty, so
// the aggregate reads a few rows fewer there; from 10k on every cell is
// filled and the cost is constant.
func BenchmarkSignupsByDay(b *testing.B) {
	today := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	from := today.AddDate(0, 0, -29)
	for _, n := range []int{1_000, 10_000, 50_000} {
		db := seedUsers(b, n, today)
		s := NewStore(db, nil)
		b.Run(fmt.Sprintf("users=%d/aggregate", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.SignupsByDay(context.Background(), from, today); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("users=%d/group-users", n), func(b *testing.B) {
			for b.Loop() {
				rows, err := db.QueryContext(context.Background(), `SELECT registered_at / 86400000, roles, COUNT(*) FROM users
					WHERE registered_at >= $1 AND registered_at < $2 GROUP BY 1, 2`,
					from.UnixMilli(), today.AddDate(0, 0, 1).UnixMilli())
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if err := rows.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedUsers creates a SQLite database with n people registered over the
// year before today, in one transaction through the same write path as
// Upsert (insert + aggregate adjustment), so seeding 50k takes seconds.
func seedUsers(b *testing.B, n int, today time.Time) *database.DB {
	b.Helper()
	ctx := context.Background()
	db := databasetest.Open(b, database.SQLite)
	rng := rand.New(rand.NewPCG(1, 2))
	roleSets := [][]string{nil, {"viewer"}, {"viewer"}, {"viewer"}, {"analyst"}, {"admin", "viewer"}}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			registered := today.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
			r := newRecord(Person{
				ID: fmt.Sprintf("user-%06d", i), Email: fmt.Sprintf("user%d@example.com", i),
				RegisteredAt: registered, Roles: roleSets[rng.IntN(len(roleSets))], RolesCheckedAt: today,
			}, today)
			if _, err := insertRecord(ctx, tx, r); err != nil {
				return err
			}
			if err := adjustSignups(ctx, tx, nil, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}
