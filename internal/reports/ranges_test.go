package reports

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"reportgate/internal/people"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ok := []struct {
		query string
		want  Range
	}{
		{"", Last(30)},
		{"range=7", Last(7)},
		{"range=30", Last(30)},
		{"range=90", Last(90)},
		{"from=2026-01-01&to=2026-01-31", Range{From: date(2026, 1, 1), To: date(2026, 1, 31)}},
		{"from=2026-11-30&to=2026-11-30", Range{From: date(2026, 11, 30), To: date(2026, 11, 30)}},
		// A custom range wins over a preset; a future end ends today.
		{"range=7&from=2026-11-01&to=2027-03-01", Range{From: date(2026, 11, 1), To: date(2026, 11, 30)}},
		// Exactly two years less a day, leap day included.
		{"from=2024-01-01&to=2025-12-31", Range{From: date(2024, 1, 1), To: date(2025, 12, 31)}},
	}
	for _, tt := range ok {
		q, _ := url.ParseQuery(tt.query)
		got, err := ParseRange(q, now)
		if err != nil || got != tt.want {
			t.Errorf("ParseRange(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
	bad := []string{
		"range=14",                            // not offered
		"range=abc",                           // garbage
		"from=2026-01-01",                     // no end
		"to=2026-01-01",                       // no start
		"from=2026-02-30&to=2026-03-01",       // no such day
		"from=yesterday&to=2026-03-01",        // not a date
		"from=2026-03-02&to=2026-03-01",       // from after to
		"from=2026-12-01&to=2026-12-05",       // all in the future: from after today
		"from=2024-01-01&to=2026-01-01",       // two years and a day
		"from=0001-01-01&to=2026-01-01",       // far too long
		"from=2026-01-01T00:00&to=2026-01-02", // a time, not a day
	}
	for _, query := range bad {
		q, _ := url.ParseQuery(query)
		if got, err := ParseRange(q, now); !errors.Is(err, ErrBadRange) || err.Error() == "" {
			t.Errorf("ParseRange(%q) = %+v, %v; want an ErrBadRange with a message", query, got, err)
		}
	}
}

func TestRangeQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    Range
		want string
	}{
		{Last(30), ""},
		{Last(7), "range=7"},
		{Range{From: date(2026, 1, 1), To: date(2026, 1, 31)}, "from=2026-01-01&to=2026-01-31"},
	} {
		if got := tt.r.Query(); got != tt.want {
			t.Errorf("%+v.Query() = %q, want %q", tt.r, got, tt.want)
		}
		// What Query writes, ParseRange reads back.
		q, _ := url.ParseQuery(tt.r.Query())
		if back, err := ParseRange(q, date(2026, 11, 30)); err != nil || back != tt.r {
			t.Errorf("round trip of %+v: %+v, %v", tt.r, back, err)
		}
	}
}

func TestPresetsAreCachedCustomRangesAreNot(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var asked []string
	src := &fakeSource{signupsByDay: func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		asked = append(asked, from.Format(time.DateOnly)+".."+to.Format(time.DateOnly))
		return zeroDays(ctx, from, to)
	}}
	svc := NewService(src, func() time.Time { return now }, time.Minute)
	ctx := context.Background()
	custom := Range{From: date(2026, 1, 1), To: date(2026, 1, 31)}
	steps := []struct {
		rg        Range
		wantCalls int32
		wantFrom  time.Time
		wantDays  int
	}{
		{Last(7), 1, date(2026, 11, 24), 7},
		{Last(7), 1, date(2026, 11, 24), 7}, // cached
		{Last(90), 2, date(2026, 9, 2), 90},
		{Last(30), 3, date(2026, 11, 1), 30},
		{Last(90), 3, date(2026, 9, 2), 90}, // cached, apart from the others
		{custom, 4, date(2026, 1, 1), 31},
		{custom, 5, date(2026, 1, 1), 31}, // built again
	}
	for i, s := range steps {
		r, err := svc.Signups(ctx, s.rg)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.calls.Load(); got != s.wantCalls {
			t.Fatalf("step %d (%+v): source called %d times, want %d (asked %v)", i, s.rg, got, s.wantCalls, asked)
		}
		if !r.From.Equal(s.wantFrom) || len(r.Days) != s.wantDays || r.Range != s.rg {
			t.Errorf("step %d: report from %s with %d days for %+v, want from %s with %d", i, r.From, len(r.Days), r.Range, s.wantFrom, s.wantDays)
		}
	}
	svc.Invalidate()
	for _, rg := range []Range{Last(7), Last(30), Last(90)} {
		if _, err := svc.Signups(ctx, rg); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.calls.Load(); got != 8 {
		t.Errorf("after Invalidate: source called %d times, want 8 (every preset rebuilt)", got)
	}
}
