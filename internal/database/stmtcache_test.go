package database

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"testing"
)

func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// idleStmts returns the statements the pool's one connection holds idle.
func idleStmts(t *testing.T, db *DB) map[string]driver.Stmt {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	idle := map[string]driver.Stmt{}
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stmtConn)
		if !ok {
			return fmt.Errorf("connection is %T, not a *stmtConn", dc)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for q, st := range c.idle {
			idle[q] = st
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return idle
}

// A text run twice is compiled once: the second run gets the statement
// the first one left, and the results are those of the new arguments.
func TestSQLiteReusesCompiledStatements(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	const q = `SELECT $1 + 1`
	var n int
	if err := db.QueryRowContext(ctx, q, 1).Scan(&n); err != nil || n != 2 {
		t.Fatalf("first run: %d, %v", n, err)
	}
	first := idleStmts(t, db)[q]
	if first == nil {
		t.Fatal("statement not kept after its rows closed")
	}
	if err := db.QueryRowContext(ctx, q, 41).Scan(&n); err != nil || n != 42 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if again := idleStmts(t, db)[q]; again != first {
		t.Fatalf("second run compiled a new statement (%p, was %p)", again, first)
	}
}

// A query run again while its first rows are still open (one transaction,
// one connection) must not reset the statement under the first reader.
func TestSQLiteSameQueryWhileRowsOpen(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT n FROM t WHERE n >= $1 ORDER BY n`
	// Run once first, so the outer query below gets a cached statement.
	if _, err := tx.ExecContext(ctx, q, 0); err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var n int
		if err := outer.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		var inner int
		if err := tx.QueryRowContext(ctx, q, 4).Scan(&inner); err != nil || inner != 4 {
			t.Fatalf("inner query: %d, %v", inner, err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("outer rows = %v, want [0 1 2 3 4]", got)
	}
}

// Texts that vary (IN lists, multi-row inserts) must not grow the cache
// past its bound.
func TestSQLiteStatementCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	for i := range stmtCacheSize + 20 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`SELECT %d`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(idleStmts(t, db)); n > stmtCacheSize {
		t.Fatalf("%d statements kept, bound is %d", n, stmtCacheSize)
	}
}
