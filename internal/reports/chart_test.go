package reports

import (
	"reflect"
	"slices"
	"testing"

	"reportgate/internal/people"
)

func TestChartBarsAndRunningTotal(t *testing.T) {
	d1, d2, d3 := date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
	r := Report{
		Days:  []people.DayCount{{Day: d1, Total: 0}, {Day: d2, Total: 1}, {Day: d3, Total: 4}},
		Max:   4,
		Total: 5,
	}
	c := r.Chart(300, 100)
	// Max 4 → axis 0..4 by 1; 300 wide → 100 per day, 80-wide bars inset by 10.
	want := []Bar{
		{X: 10, Y: 100, Width: 80, Height: 0, Day: d1, Total: 0, Label: "Mon Nov 3: 0 sign-ups"},
		{X: 110, Y: 75, Width: 80, Height: 25, Day: d2, Total: 1, Label: "Tue Nov 4: 1 sign-up"},
		{X: 210, Y: 0, Width: 80, Height: 100, Day: d3, Total: 4, Label: "Wed Nov 5: 4 sign-ups"},
	}
	if !reflect.DeepEqual(c.Bars, want) {
		t.Errorf("bars =\n%+v\nwant\n%+v", c.Bars, want)
	}
	// Running total 0, 1, 5 against the right axis 0..8 by 2 (4 intervals, like the left).
	if c.RunningAxis != (Axis{Step: 2, Top: 8}) {
		t.Errorf("running axis %+v, want step 2 top 8", c.RunningAxis)
	}
	if wantLine := "50.00,100.00 150.00,87.50 250.00,37.50"; c.Running != wantLine {
		t.Errorf("running line %q, want %q", c.Running, wantLine)
	}
}

func TestChartWithoutSignups(t *testing.T) {
	r := Report{Days: []people.DayCount{{Day: date(2025, 11, 3)}, {Day: date(2025, 11, 4)}}}
	c := r.Chart(200, 50)
	for _, b := range c.Bars {
		if b.Height != 0 || b.Y != 50 {
			t.Errorf("bar %s: height %v at y %v, want 0 at the bottom (50)", b.Day, b.Height, b.Y)
		}
	}
	if got := c.Axis.Ticks(); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("empty chart ticks %v, want [0 1]", got)
	}
	if got := (Report{}).Chart(200, 50).Bars; got != nil {
		t.Errorf("no days: got %v, want nil", got)
	}
}

func TestNiceAxis(t *testing.T) {
	tests := []struct {
		max       int
		wantTicks []int
	}{
		{0, []int{0, 1}},
		{1, []int{0, 1}},
		{4, []int{0, 1, 2, 3, 4}},
		{5, []int{0, 1, 2, 3, 4, 5}},
		{6, []int{0, 2, 4, 6}},
		{7, []int{0, 2, 4, 6, 8}},
		{11, []int{0, 5, 10, 15}},
		{23, []int{0, 5, 10, 15, 20, 25}},
		{26, []int{0, 10, 20, 30}},
		{99, []int{0, 20, 40, 60, 80, 100}},
		{1234, []int{0, 500, 1000, 1500}},
	}
	for _, tt := range tests {
		a := NiceAxis(tt.max)
		got := a.Ticks()
		if !slices.Equal(got, tt.wantTicks) {
			t.Errorf("NiceAxis(%d) ticks %v, want %v", tt.max, got, tt.wantTicks)
		}
		if a.Top < tt.max {
			t.Errorf("NiceAxis(%d) tops out at %d, below the largest value", tt.max, a.Top)
		}
	}
}

func TestMatchingAxisSharesGridlines(t *testing.T) {
	left := NiceAxis(4) // 4 intervals
	// 11 needs 3 per interval: 2.5 is not a whole step, so 5.
	for _, tt := range []struct{ total, wantStep int }{{0, 1}, {5, 2}, {11, 5}, {37, 10}, {600, 200}, {1000, 250}} {
		got := matchingAxis(tt.total, left)
		if got.Top/got.Step != 4 || got.Top < tt.total || got.Step != tt.wantStep {
			t.Errorf("matchingAxis(%d) = %+v, want step %d in 4 intervals reaching %d", tt.total, got, tt.wantStep, tt.total)
		}
	}
}
