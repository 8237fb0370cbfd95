package reports

import (
	"reflect"
	"testing"

	"reportgate/internal/store"
)

func TestBars(t *testing.T) {
	d1, d2, d3 := date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
	r := Report{
		Days: []store.DayCount{{Day: d1, Total: 0}, {Day: d2, Total: 1}, {Day: d3, Total: 4}},
		Max:  4,
	}
	// 300 wide → 100 per day; 20% gap → 80-wide bars inset by 10.
	want := []Bar{
		{X: 10, Y: 100, Width: 80, Height: 0, Day: d1, Total: 0, Label: "Nov 3: 0 sign-ups"},
		{X: 110, Y: 75, Width: 80, Height: 25, Day: d2, Total: 1, Label: "Nov 4: 1 sign-up"},
		{X: 210, Y: 0, Width: 80, Height: 100, Day: d3, Total: 4, Label: "Nov 5: 4 sign-ups"},
	}
	if got := r.Bars(300, 100); !reflect.DeepEqual(got, want) {
		t.Errorf("Bars(300, 100) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestBarsWithoutSignups(t *testing.T) {
	r := Report{Days: []store.DayCount{{Day: date(2025, 11, 3)}, {Day: date(2025, 11, 4)}}}
	for _, b := range r.Bars(200, 50) {
		if b.Height != 0 || b.Y != 50 {
			t.Errorf("bar %s: height %v at y %v, want 0 at the bottom (50)", b.Day, b.Height, b.Y)
		}
	}
	if got := (Report{}).Bars(200, 50); got != nil {
		t.Errorf("no days: got %v, want nil", got)
	}
	if got := r.Bars(0, 50); got != nil {
		t.Errorf("zero width: got %v, want nil", got)
	}
}
