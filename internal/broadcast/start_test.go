package broadcast

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
)

// noNotify stands in for the database a PostgreSQL bus publishes through.
type noNotify struct{}

func (noNotify) ExecContext(context.Context, string, ...any) (sql.Result, error) { return nil, nil }

func TestStopWaitsForRun(t *testing.T) {
	for name, bus := range map[string]*Bus{
		"local": NewLocal(),
		// Nothing listens on port 1: Run keeps retrying until stopped.
		"postgres": NewPostgres(noNotify{}, "postgres://127.0.0.1:1/none?connect_timeout=1", slog.New(slog.NewTextHandler(io.Discard, nil))),
	} {
		t.Run(name, func(t *testing.T) {
			stop := bus.Start(context.Background())
			stop() // ends Run even while it retries; a hang fails the test by timeout
		})
	}
}
