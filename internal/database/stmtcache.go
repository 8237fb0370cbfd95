package database

import (
	"context"
	"database/sql/driver"
	"reflect"
	"sync"
)

// The SQLite driver compiles every statement it is given afresh and throws
// the compiled program away afterwards: database/sql caches nothing unless
// the caller prepares by hand, and River and most of the app never do. On
// a busy replica compiling was a third of the CPU (River's inserts and
// completions are long statements). stmtConnector keeps, per connection,
// the compiled statements of the texts it ran recently and runs them again
// with new arguments, which the driver supports (reset and rebind).

// stmtCacheSize bounds the statements a connection keeps. The app runs a
// few dozen distinct texts plus IN lists and multi-row inserts whose text
// varies with their length; past the bound, an idle statement is dropped.
const stmtCacheSize = 256

// stmtConnector wraps the SQLite connector so every connection it opens
// reuses its compiled statements.
type stmtConnector struct{ driver.Connector }

func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtConn{Conn: conn, idle: map[string]driver.Stmt{}}, nil
}

// sqliteConn is what the SQLite driver's connections implement; the
// wrapper forwards all of it so that database/sql keeps the context-aware
// paths (a lock wait ends with its context, BeginTx options, validation).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtConn is a connection with a statement cache. database/sql never uses
// one connection from two goroutines at once, but rows are closed by
// whoever holds them, so the map is guarded anyway.
type stmtConn struct {
	driver.Conn
	mu sync.Mutex
	// idle holds compiled statements not in use. A statement whose rows
	// are open is taken out, so a second query with the same text while
	// they are open (inside one transaction) compiles its own copy rather
	// than resetting the first one's under its reader.
	idle map[string]driver.Stmt
}

// Unwrap lets the driver's own helpers find the connection beneath.
func (c *stmtConn) Unwrap() driver.Conn { return c.Conn }

func (c *stmtConn) inner() sqliteConn { return c.Conn.(sqliteConn) }

// take returns the idle compiled statement for query, compiling one when
// there is none; the caller owns it until put.
func (c *stmtConn) take(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	st, ok := c.idle[query]
	delete(c.idle, query)
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	return c.inner().PrepareContext(ctx, query)
}

// put makes st idle again, or closes it when another copy already is or
// the cache is full (then it also drops an idle one, so a burst of
// one-off texts does not pin the cache).
func (c *stmtConn) put(query string, st driver.Stmt) {
	c.mu.Lock()
	var drop []driver.Stmt
	if _, dup := c.idle[query]; dup {
		drop = append(drop, st)
	} else {
		if len(c.idle) >= stmtCacheSize {
			for q, old := range c.idle {
				delete(c.idle, q)
				drop = append(drop, old)
				break
			}
		}
		c.idle[query] = st
	}
	c.mu.Unlock()
	for _, s := range drop {
		s.Close()
	}
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	c.put(query, st)
	return res, err
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.put(query, st)
		return nil, err
	}
	return &stmtRows{Rows: rows, done: func() { c.put(query, st) }}, nil
}

func (c *stmtConn) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, st := range idle {
		st.Close()
	}
	return c.Conn.Close()
}

func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}

func (c *stmtConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}

func (c *stmtConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *stmtConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }

func (c *stmtConn) IsValid() bool { return c.inner().IsValid() }

// stmtRows returns its statement to the cache when closed; the driver
// resets a reused statement's program on Close.
type stmtRows struct {
	driver.Rows
	once sync.Once
	done func()
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

// The column type methods are forwarded so that sql.Rows.ColumnTypes
// reports what the driver knows.

func (r *stmtRows) ColumnTypeDatabaseTypeName(i int) string {
	if x, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return x.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *stmtRows) ColumnTypeLength(i int) (int64, bool) {
	if x, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return x.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *stmtRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if x, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return x.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *stmtRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if x, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return x.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *stmtRows) ColumnTypeScanType(i int) reflect.Type {
	if x, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return x.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
