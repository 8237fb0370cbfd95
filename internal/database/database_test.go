package database_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// Several replicas may start at once against one database: every
// migrator must succeed and each migration must be applied exactly once.
// A few rounds on fresh databases, since a race may not show every time.
func TestMigrateIsIdempotentAndConcurrentSafe(t *testing.T) {
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			for range 5 {
				url := databasetest.OpenURL(t, d)
				dbs := make([]*database.DB, 4)
				for i := range dbs {
					db, err := database.Open(ctx, url)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					dbs[i] = db
				}
				errs := make([]error, len(dbs))
				var wg sync.WaitGroup
				for i, db := range dbs {
					wg.Go(func() { errs[i] = db.Migrate(ctx) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatalf("concurrent migrate: %v", err)
					}
				}
				before := applied(t, dbs[0])
				if err := dbs[0].Migrate(ctx); err != nil {
					t.Fatalf("second migrate: %v", err)
				}
				if after := applied(t, dbs[0]); len(before) == 0 || strings.Join(before, ",") != strings.Join(after, ",") {
					t.Fatalf("migrations recorded: %v then %v", before, after)
				}
				for _, table := range []string{"sessions", "users"} {
					if _, err := dbs[0].ExecContext(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err != nil {
						t.Errorf("table %s: %v", table, err)
					}
				}
			}
		})
	}
}

// applied lists the recorded migrations; a duplicate would show twice.
func applied(t *testing.T, db *database.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	t.Parallel()
	if _, err := database.Open(context.Background(), "mysql://user:secret@host/db"); err == nil {
		t.Fatal("want an error")
	} else if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}

// TestSQLiteCommitsAreFlushed: a webhook is answered 204 on its commit,
// and Logto does not send it again, so the commit must reach the disk. In
// WAL mode only synchronous=FULL (2) flushes each commit; NORMAL can lose
// one to a power loss.
func TestSQLiteCommitsAreFlushed(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.SQLite)
	var mode string
	var level int
	if err := db.QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(context.Background(), `PRAGMA synchronous`).Scan(&level); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || level != 2 {
		t.Errorf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, level)
	}
}
