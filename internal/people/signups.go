package people

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// DayCount is the number of people who registered on one UTC day.
type DayCount struct {
	Day   time.Time // 00:00 UTC
	Total int
	// ByRole splits Total by each person's role bucket (see Bucket); ""
	// counts people with no role. It is never nil.
	ByRole map[string]int
}

// MaxSignupDays bounds one SignupsByDay query (two years, the longest
// report range, leap day included), so a bad range cannot make
// it allocate without limit.
const MaxSignupDays = 731

// SignupsByDay returns one DayCount per UTC day from the day of from to the
// day of to, both included, days without sign-ups counting zero. It reads
// only the signup_days rows of that range (one per day and role bucket),
// never the users table.
func (s *Store) SignupsByDay(ctx context.Context, from, to time.Time) ([]DayCount, error) {
	first, last := dayNumber(from), dayNumber(to)
	if last < first || last-first >= MaxSignupDays {
		return nil, fmt.Errorf("signups by day: bad range %s..%s (at most %d days)",
			from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly), MaxSignupDays)
	}
	days := make([]DayCount, last-first+1)
	for i := range days {
		days[i] = DayCount{Day: dayStart(first + int64(i)), ByRole: map[string]int{}}
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT day, role, count FROM signup_days WHERE day >= $1 AND day <= $2`, first, last)
	if err != nil {
		return nil, fmt.Errorf("signups by day: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			day   int64
			role  string
			count int
		)
		if err := rows.Scan(&day, &role, &count); err != nil {
			return nil, fmt.Errorf("signups by day: %w", err)
		}
		d := &days[day-first]
		d.Total += count
		d.ByRole[role] += count
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("signups by day: %w", err)
	}
	return days, nil
}

// bucketKey is one cell of signup_days.
type bucketKey struct {
	day  int64
	role string
}

// adjustSignups moves a person's count from the cell of old to the cell of
// next (either may be nil: created, deleted). It must run in the
// transaction that wrote the users row, so the aggregate never disagrees
// with the table.
func adjustSignups(ctx context.Context, tx *sql.Tx, old, next *record) error {
	deltas := map[bucketKey]int{}
	if old != nil {
		deltas[old.key()]--
	}
	if next != nil {
		deltas[next.key()]++
	}
	keys := make([]bucketKey, 0, len(deltas))
	for k, d := range deltas {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	// A fixed order keeps two PostgreSQL transactions moving people in
	// opposite directions between the same cells from deadlocking.
	slices.SortFunc(keys, func(a, b bucketKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.role, b.role))
	})
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO signup_days (day, role, count) VALUES ($1, $2, $3)
			ON CONFLICT (day, role) DO UPDATE SET count = signup_days.count + excluded.count`,
			k.day, k.role, deltas[k]); err != nil {
			return fmt.Errorf("adjust signups: %w", err)
		}
		if deltas[k] < 0 {
			// Empty cells would only grow the table and the report reads.
			if _, err := tx.ExecContext(ctx, `DELETE FROM signup_days WHERE day = $1 AND role = $2 AND count = 0`,
				k.day, k.role); err != nil {
				return fmt.Errorf("adjust signups: %w", err)
			}
		}
	}
	return nil
}
