package database

import (
	"context"
	"errors"
	"testing"
)

func TestOpenMigratedRunsEveryMigrationInOrder(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + t.TempDir() + "/app.db"
	var ran []string
	db, err := OpenMigrated(ctx, url, func(ctx context.Context, db *DB) error {
		// The app's migrations ran first: their table is there.
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			return err
		}
		ran = append(ran, "queue")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if len(ran) != 1 {
		t.Errorf("extra migrations ran %v", ran)
	}
}

func TestOpenMigratedClosesOnFailure(t *testing.T) {
	boom := errors.New("boom")
	var kept *DB
	_, err := OpenMigrated(context.Background(), "sqlite:"+t.TempDir()+"/app.db", func(_ context.Context, db *DB) error {
		kept = db
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := kept.PingContext(context.Background()); err == nil {
		t.Error("the database is still open after a failed migration")
	}
}
