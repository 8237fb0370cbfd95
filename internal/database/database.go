// Package database opens the app database (SQLite by default, PostgreSQL
// when the URL says so) and applies its versioned migrations. Queries in
// the rest of the app use $1-style placeholders, which both engines accept,
// so one SQL text serves both.
package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// postgresConns is the size of a replica's PostgreSQL pool.
const postgresConns = 20

//go:embed migrations
var migrations embed.FS

// DB is an open app database.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// Open connects to url, which is "sqlite:<path>" or "postgres://…"
// (also "postgresql://…"), and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("open database: sqlite URL has no path")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open database: %w", err)
			}
		}
		// synchronous(FULL): in WAL mode NORMAL does not flush a commit, which
		// could then roll back after a power loss; a webhook answered 204 on
		// that commit would be lost, as Logto does not send it again.
		// Group commit makes this one flush per batch.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
		conn, err := sqlite.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		raw := sql.OpenDB(stmtConnector{conn})
		// One connection: SQLite serialises writers anyway, and a single
		// connection rules out SQLITE_BUSY between our own goroutines. The
		// price is that nothing may use the pool while holding a transaction.
		raw.SetMaxOpenConns(1)
		raw.SetConnMaxIdleTime(0)
		db = &DB{DB: raw, Dialect: SQLite}
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		raw, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		raw.SetMaxOpenConns(postgresConns)
		// database/sql keeps only 2 idle connections unless told: every
		// further connection returned to the pool was closed and re-opened
		// for the next query (a new server backend each time) and lost
		// pgx's per-connection prepared statements, so a busy replica paid
		// a connect and a Prepare round trip per statement.
		raw.SetMaxIdleConns(postgresConns)
		raw.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{DB: raw, Dialect: Postgres}
	default:
		return nil, fmt.Errorf("open database: unsupported URL %q (want sqlite:<path> or postgres://…)", redact(url))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// Migrate applies, in order and each in its own transaction, every
// migration of this dialect not yet recorded in schema_migrations. It is
// safe to call from several processes at once on PostgreSQL (an advisory
// lock serialises them).
func (db *DB) Migrate(ctx context.Context) error {
	steps, err := db.migrationSteps()
	if err != nil {
		return err
	}
	if err := db.ensureMigrationsTable(ctx); err != nil {
		return err
	}
	for _, step := range steps {
		if err := db.applyStep(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) ensureMigrationsTable(ctx context.Context) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := db.lockMigrations(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// lockMigrations serialises concurrent migrators (several replicas starting
// at once) on PostgreSQL; SQLite's write lock already does.
func (db *DB) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7263514)`); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	return nil
}

type migrationStep struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrationSteps() ([]migrationStep, error) {
	dir := "migrations/" + string(db.Dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var steps []migrationStep
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		version, convErr := strconv.Atoi(prefix)
		if !ok || convErr != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migrate: bad migration file name %q", e.Name())
		}
		body, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		steps = append(steps, migrationStep{version: version, name: e.Name(), sql: string(body)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	return steps, nil
}

func (db *DB) applyStep(ctx context.Context, step migrationStep) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", step.name, err)
	}
	defer tx.Rollback()
	if err := db.lockMigrations(ctx, tx); err != nil {
		return err
	}
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, step.version).Scan(&done); err != nil {
		return fmt.Errorf("migrate %s: %w", step.name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, step.sql); err != nil {
		return fmt.Errorf("migrate %s: %w", step.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		step.version, step.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("migrate %s: %w", step.name, err)
	}
	return tx.Commit()
}

// redact hides a password in a database URL for error messages.
func redact(url string) string {
	if at := strings.Index(url, "@"); at > 0 {
		if scheme := strings.Index(url, "://"); scheme > 0 && scheme < at {
			return url[:scheme+3] + "…" + url[at:]
		}
	}
	return url
}

// InTx runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
