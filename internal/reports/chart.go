package reports

import (
	"fmt"
	"time"
)

// Bar is one day's bar of the sign-ups chart, in SVG user units with the
// origin at the top left (so Y grows downwards).
type Bar struct {
	X, Y, Width, Height float64
	Day                 time.Time
	Total               int
	Label               string // for the title and screen readers, e.g. "Nov 3: 4 sign-ups"
}

// barGap is the share of each day's slot left empty between bars.
const barGap = 0.2

// Bars lays out one bar per day across a width×height chart: equal slots
// left to right, bar heights scaled so the busiest day (Max) fills the
// height, bars standing on the bottom edge. Days without sign-ups get
// height 0. It returns nil when there is nothing to draw.
func (r Report) Bars(width, height float64) []Bar {
	if len(r.Days) == 0 || width <= 0 || height <= 0 {
		return nil
	}
	slot := width / float64(len(r.Days))
	bars := make([]Bar, len(r.Days))
	for i, d := range r.Days {
		h := 0.0
		if r.Max > 0 {
			h = float64(d.Total) / float64(r.Max) * height
		}
		bars[i] = Bar{
			X:      float64(i)*slot + slot*barGap/2,
			Y:      height - h,
			Width:  slot * (1 - barGap),
			Height: h,
			Day:    d.Day,
			Total:  d.Total,
			Label:  barLabel(d.Day, d.Total),
		}
	}
	return bars
}

func barLabel(day time.Time, n int) string {
	noun := "sign-ups"
	if n == 1 {
		noun = "sign-up"
	}
	return fmt.Sprintf("%s: %d %s", day.UTC().Format("Jan 2"), n, noun)
}
