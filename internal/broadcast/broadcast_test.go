package broadcast_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"reportgate/internal/broadcast"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
)

// named gives a bus's listening connection its own application_name, so
// the test can find and kill it.
func named(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "bustest_" + hex.EncodeToString(b[:])
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), name
}

// within receives from ch or fails after d.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %s", what, d)
		var zero T
		return zero
	}
}

func TestBusReachesOtherReplicasAndResyncsAfterReconnect(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, database.Postgres)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	urlA, _ := named(t, databasetest.OpenURL(t, database.Postgres))
	urlB, nameB := named(t, databasetest.OpenURL(t, database.Postgres))
	a := broadcast.NewPostgres(db, urlA, slog.New(slog.DiscardHandler))
	b := broadcast.NewPostgres(db, urlB, slog.New(slog.DiscardHandler))

	toA, toB := make(chan string, 16), make(chan string, 16)
	resyncA, resyncB := make(chan struct{}, 16), make(chan struct{}, 16)
	a.Subscribe("t", func(k string) { toA <- k })
	b.Subscribe("t", func(k string) { toB <- k })
	b.Subscribe("other", func(k string) { toB <- "other:" + k })
	a.OnResync(func() { resyncA <- struct{}{} })
	b.OnResync(func() { resyncB <- struct{}{} })
	for _, bus := range []*broadcast.Bus{a, b} {
		done := make(chan struct{})
		go func() { defer close(done); bus.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	// A resync follows every connection, the first one included.
	within(t, resyncA, 10*time.Second, "first resync of A")
	within(t, resyncB, 10*time.Second, "first resync of B")

	if err := a.Publish(ctx, "t", "user 1"); err != nil {
		t.Fatal(err)
	}
	if got := within(t, toB, time.Second, "notification on B"); got != "user 1" {
		t.Fatalf("B got %q", got)
	}
	// Notifications arrive in commit order, so had A heard its own, that
	// would come before B's reply.
	if err := b.Publish(ctx, "t", "user 2"); err != nil {
		t.Fatal(err)
	}
	if got := within(t, toA, time.Second, "notification on A"); got != "user 2" {
		t.Fatalf("A got %q first: it heard its own notification", got)
	}

	// B's connection dies: B reconnects, resyncs (it may have missed
	// notifications) and hears again.
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, nameB); err != nil {
		t.Fatal(err)
	}
	within(t, resyncB, 10*time.Second, "resync of B after its connection was killed")
	if err := a.Publish(ctx, "other", "user 3"); err != nil {
		t.Fatal(err)
	}
	if got := within(t, toB, time.Second, "notification on B after reconnect"); got != "other:user 3" {
		t.Fatalf("B got %q", got)
	}
}

func TestLocalBusPublishesToNobody(t *testing.T) {
	t.Parallel()
	bus := broadcast.NewLocal()
	called := false
	bus.Subscribe("t", func(string) { called = true })
	if err := bus.Publish(context.Background(), "t", "k"); err != nil {
		t.Fatal(err)
	}
	bus.Run(context.Background()) // returns at once
	if called {
		t.Fatal("a local bus delivered its own publication: its owner had already applied it")
	}
}
