// Package broadcast tells the other replicas of reportgate that something
// they may hold in an in-process cache has changed: a session ended, a
// person's sessions were revoked, a person's decisions must be forgotten.
//
// On PostgreSQL a Bus sends NOTIFY through the app database and LISTENs on
// a dedicated connection of its own (a pooled connection cannot be kept
// listening). Delivery is best effort: while that connection is down
// notifications are lost, so after every reconnect the Bus runs its resync
// handlers, which flush the local caches. On SQLite the app is a single
// process and a Bus is local: Publish has nobody to tell.
//
// A publisher applies a change to its own caches itself, at once; Publish
// only reaches the other replicas, and a replica ignores its own
// notifications.
package broadcast

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Channel is the PostgreSQL notification channel. Channels are per
// database, not per schema.
const Channel = "reportgate_invalidate"

// Connection deadlines. WaitForNotification is bounded by idleCheck, after
// which the connection is pinged so a silently dead one is noticed.
const (
	connectTimeout = 10 * time.Second
	pingTimeout    = 5 * time.Second
	idleCheck      = 30 * time.Second
	notifyTimeout  = 5 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// Execer sends NOTIFY; *database.DB implements it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Bus publishes invalidations to the other replicas and delivers theirs to
// the handlers subscribed here.
type Bus struct {
	origin string // this process, so its own notifications are skipped
	db     Execer // nil: local, nobody else to tell
	url    string
	logger *slog.Logger

	mu       sync.RWMutex
	handlers map[string][]func(key string)
	resync   []func()
}

// NewLocal returns a Bus for a single-process app (SQLite): Publish does
// nothing, since every cache lives in this process and its owner has
// already applied the change.
func NewLocal() *Bus {
	return &Bus{handlers: map[string][]func(string){}}
}

// NewPostgres returns a Bus that notifies through db and listens on its own
// connection to url once Run is called.
func NewPostgres(db Execer, url string, logger *slog.Logger) *Bus {
	var raw [8]byte
	rand.Read(raw[:])
	return &Bus{origin: hex.EncodeToString(raw[:]), db: db, url: url, logger: logger,
		handlers: map[string][]func(string){}}
}

// Subscribe calls fn with the key of every notification on topic from
// another replica.
func (b *Bus) Subscribe(topic string, fn func(key string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = append(b.handlers[topic], fn)
}

// OnResync calls fn whenever notifications may have been missed (after the
// listening connection was re-established): fn should drop every cached
// entry that a notification could have invalidated.
func (b *Bus) OnResync(fn func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resync = append(b.resync, fn)
}

// Publish tells the other replicas that key of topic changed. A topic
// holds no space; a key may.
func (b *Bus) Publish(ctx context.Context, topic, key string) error {
	if b.db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	if _, err := b.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, b.origin+" "+topic+" "+key); err != nil {
		return fmt.Errorf("broadcast %s: %w", topic, err)
	}
	return nil
}

// Run listens until ctx ends, reconnecting with backoff. A local Bus
// returns at once.
func (b *Bus) Run(ctx context.Context) {
	if b.db == nil {
		return
	}
	backoff := minBackoff
	for {
		connected := false
		err := b.listen(ctx, func() {
			connected = true
			backoff = minBackoff
		})
		if ctx.Err() != nil {
			return
		}
		if connected {
			b.logger.WarnContext(ctx, "invalidation listener lost its connection; reconnecting", "err", err)
		} else {
			b.logger.WarnContext(ctx, "invalidation listener cannot connect", "err", err, "retry_in", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen holds one LISTEN connection until it fails. Every new connection
// is followed by a resync: anything published while no connection was
// listening is lost, including before the first one.
func (b *Bus) listen(ctx context.Context, connected func()) error {
	cfg, err := pgx.ParseConfig(b.url)
	if err != nil {
		return fmt.Errorf("listen for invalidations: %w", err)
	}
	// The waits below end on a deadline every idleCheck. pgx's default
	// reaction to a context ending is a cancel request to the server, which
	// could arrive during the next command; a read deadline is enough here.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	connCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := pgx.ConnectConfig(connCtx, cfg)
	if err == nil {
		_, err = conn.Exec(connCtx, "LISTEN "+Channel)
	}
	cancel()
	if conn != nil {
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
			defer cancel()
			conn.Close(closeCtx)
		}()
	}
	if err != nil {
		return fmt.Errorf("listen for invalidations: %w", err)
	}
	connected()
	b.runResync()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, idleCheck)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			b.deliver(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping invalidation listener: %w", err)
			}
		default:
			return fmt.Errorf("wait for invalidations: %w", err)
		}
	}
}

func (b *Bus) deliver(payload string) {
	origin, rest, ok := strings.Cut(payload, " ")
	if !ok || origin == b.origin {
		return
	}
	topic, key, ok := strings.Cut(rest, " ")
	if !ok {
		return
	}
	b.mu.RLock()
	fns := b.handlers[topic]
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(key)
	}
}

func (b *Bus) runResync() {
	b.mu.RLock()
	fns := b.resync
	b.mu.RUnlock()
	for _, fn := range fns {
		fn()
	}
}
