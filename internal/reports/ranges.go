package reports

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Presets are the ranges offered as one-click choices, in days ending today.
// Only these are cached: a custom range is built per request.
var Presets = []int{7, 30, 90}

// DefaultDays is the preset shown when the address names no range.
const DefaultDays = 30

// MaxSpan is the longest custom range: two years, measured from its first
// day, so a span holding a leap day is still allowed.
const MaxSpan = 2

// Range is the span of days a report covers, in UTC.
type Range struct {
	// Days is a preset: the last Days UTC days, today included. 0 for a
	// custom range.
	Days int
	// From and To are a custom range's first and last day (00:00 UTC).
	From, To time.Time
}

// Last is the preset range of the last days UTC days, today included.
func Last(days int) Range { return Range{Days: days} }

// Custom reports whether r is a custom range (not a preset).
func (r Range) Custom() bool { return r.Days == 0 }

// bounds is the first and last day of r when today is today.
func (r Range) bounds(today time.Time) (from, to time.Time) {
	if r.Custom() {
		return r.From, r.To
	}
	return today.AddDate(0, 0, -(r.Days - 1)), today
}

// Query is the address query that selects r ("" for the default preset),
// for links such as the CSV export that must follow the chosen range.
func (r Range) Query() string {
	switch {
	case r.Custom():
		return url.Values{"from": {r.From.Format(time.DateOnly)}, "to": {r.To.Format(time.DateOnly)}}.Encode()
	case r.Days == DefaultDays:
		return ""
	}
	return "range=" + strconv.Itoa(r.Days)
}

// ErrBadRange is wrapped by every ParseRange error; the message says what
// is wrong in words a reader of the page understands.
var ErrBadRange = errors.New("bad range")

type rangeError string

func (e rangeError) Error() string        { return string(e) }
func (e rangeError) Is(target error) bool { return target == ErrBadRange }

// ParseRange reads a range from an address query: range=7|30|90 for a
// preset, or from=YYYY-MM-DD&to=YYYY-MM-DD for a custom range (UTC days,
// both included), which wins when either date is given. No range at all is
// the default preset. A custom range ending after today ends today.
func ParseRange(q url.Values, now time.Time) (Range, error) {
	fromText, toText := q.Get("from"), q.Get("to")
	if fromText == "" && toText == "" {
		preset := q.Get("range")
		if preset == "" {
			return Last(DefaultDays), nil
		}
		days, err := strconv.Atoi(preset)
		if err != nil || !slices.Contains(Presets, days) {
			return Range{}, rangeError(fmt.Sprintf("%q is not one of the ranges offered (7, 30 or 90 days).", preset))
		}
		return Last(days), nil
	}
	from, err := parseDay("start", fromText)
	if err != nil {
		return Range{}, err
	}
	to, err := parseDay("end", toText)
	if err != nil {
		return Range{}, err
	}
	today := startOfDay(now)
	if to.After(today) {
		to = today
	}
	switch {
	case from.After(today):
		return Range{}, rangeError("The start date is after today; there is nothing to show yet.")
	case from.After(to):
		return Range{}, rangeError("The start date must be on or before the end date.")
	case !to.Before(from.AddDate(MaxSpan, 0, 0)):
		return Range{}, rangeError(fmt.Sprintf("A range can span at most %d years.", MaxSpan))
	}
	return Range{From: from, To: to}, nil
}

func parseDay(which, text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, rangeError(fmt.Sprintf("Choose a %s date.", which))
	}
	d, err := time.Parse(time.DateOnly, text)
	if err != nil {
		return time.Time{}, rangeError(fmt.Sprintf("The %s date %q is not a date like 2026-01-31.", which, text))
	}
	return d, nil
}
