// Package databasetest gives tests fresh, migrated, isolated app databases
// on SQLite and PostgreSQL. PostgreSQL comes from REPORTGATE_TEST_POSTGRES_URL;
// without it PostgreSQL tests skip, except in CI (CI set), where a skip
// would hide a missing database and so fails the test instead.
package databasetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"reportgate/internal/database"
)

// PostgresURLEnv names the variable holding the test PostgreSQL URL.
const PostgresURLEnv = "REPORTGATE_TEST_POSTGRES_URL"

// ForEachDialect runs fn as subtests "sqlite" and "postgres".
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of dialect d, removed when the
// test ends.
func Open(t testing.TB, d database.Dialect) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), OpenURL(t, d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// OpenURL returns the URL of a fresh, empty, isolated database of dialect
// d (not migrated), for tests that open it more than once — for example
// two app instances sharing one PostgreSQL database.
func OpenURL(t testing.TB, d database.Dialect) string {
	t.Helper()
	switch d {
	case database.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case database.Postgres:
		return postgresSchemaURL(t)
	}
	t.Fatalf("unknown dialect %q", d)
	return ""
}

// PostgresURL returns the test PostgreSQL URL, skipping (or, in CI,
// failing) when it is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresURL(t, os.Getenv)
}

func postgresURL(t testing.TB, getenv func(string) string) string {
	t.Helper()
	u := getenv(PostgresURLEnv)
	if u == "" {
		if getenv("CI") != "" {
			t.Fatalf("%s is not set in CI; PostgreSQL tests must run there", PostgresURLEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", PostgresURLEnv)
	}
	return u
}

// postgresSchemaURL creates a schema with a random name and returns a URL
// whose connections use it (search_path), dropping it at cleanup.
func postgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
