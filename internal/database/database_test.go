package database_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

func TestMigrateIsIdempotentAndConcurrentSafe(t *testing.T) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := databasetest.OpenURL(t, d)
			ctx := context.Background()
			open := func() *database.DB {
				db, err := database.Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			a, b := open(), open()
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, db := range []*database.DB{a, b} {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = db.Migrate(ctx) }()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
			var before int
			a.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&before)
			if err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var after int
			a.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&after)
			if before == 0 || before != after {
				t.Fatalf("migrations recorded: %d then %d", before, after)
			}
		})
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	if _, err := database.Open(context.Background(), "mysql://user:secret@host/db"); err == nil {
		t.Fatal("want an error")
	} else if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}
