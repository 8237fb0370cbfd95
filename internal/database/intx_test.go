package database_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

func TestInTxCommitsOnlyWhenFnSucceeds(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE intx (n INTEGER)`); err != nil {
			t.Fatal(err)
		}
		insert := func(n int) func(tx *sql.Tx) error {
			return func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO intx (n) VALUES ($1)`, n)
				return err
			}
		}
		if err := db.InTx(ctx, insert(1)); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := insert(2)(tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want fn's error", err)
		}
		var sum, count int
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0), COUNT(*) FROM intx`).Scan(&sum, &count); err != nil {
			t.Fatal(err)
		}
		if sum != 1 || count != 1 {
			t.Errorf("rows: count %d sum %d, want only the committed 1", count, sum)
		}
	})
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, n int
		want    string
	}{{1, 0, ""}, {1, 1, "$1"}, {3, 3, "$3, $4, $5"}} {
		if got := database.Placeholders(tc.from, tc.n); got != tc.want {
			t.Errorf("Placeholders(%d, %d) = %q, want %q", tc.from, tc.n, got, tc.want)
		}
	}
}
