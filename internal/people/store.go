// Package people is the one home of what reportgate knows and does about a
// person: the Person type and the conversions into it from Logto's
// payloads, the local record of each person (who they are, when they
// arrived, the last role snapshot learnt from Permit) with the per-day
// sign-up aggregate the reports read (so no request ever scans the users
// table), and the lifecycle Service that keeps that record, Permit and the
// provisioning sync in step from sign-in to erasure.
//
// The same SQL runs on SQLite and PostgreSQL (see package database); the
// few differences are switched on database.Dialect in this package only.
package people

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"reportgate/internal/fault"
)

// ErrNotFound reports that no record has the requested key.
var ErrNotFound = fmt.Errorf("%w", fault.NotFound)

// queryer is what load needs of *sql.DB and *sql.Tx, so the same code
// serves a plain lookup and a locked read inside a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Times are stored as Unix epoch milliseconds in UTC; 0 stands for "unknown"
// (the zero time.Time), which keeps the columns NOT NULL on both engines.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

const msPerDay = 24 * 60 * 60 * 1000

// dayNumber is the UTC calendar day of t as days since 1970-01-01, the key
// of signup_days. It floors, so instants before 1970 still land on the
// right day.
func dayNumber(t time.Time) int64 {
	ms := t.UnixMilli()
	d := ms / msPerDay
	if ms%msPerDay < 0 {
		d--
	}
	return d
}

func dayStart(day int64) time.Time {
	return time.UnixMilli(day * msPerDay).UTC()
}

// errorf wraps err with what was being done, leaving nil alone so callers
// can return it unconditionally.
func errorf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// anySlice is ss as query arguments.
func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
