package metrics

import (
	"testing"
	"time"
)

func TestTallyKeepsTotalsAndALast24HoursWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tally := NewTally(func() time.Time { return now })
	tally.Add("malformed")
	tally.Add("malformed")
	now = now.Add(23 * time.Hour)
	tally.Add("malformed")
	got := tally.Counts("malformed", "rejected_signature")
	if got[0] != (Count{Kind: "malformed", Last24h: 3, Total: 3}) || got[1] != (Count{Kind: "rejected_signature"}) {
		t.Fatalf("after 23 h: %+v", got)
	}
	now = now.Add(time.Hour)
	if got := tally.Counts("malformed")[0]; got.Last24h != 1 || got.Total != 3 {
		t.Fatalf("after 24 h: %+v, want the first two out of the window", got)
	}
}
