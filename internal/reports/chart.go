package reports

import (
	"fmt"
	"strconv"
	"strings"
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

// maxTicks bounds the intervals of an axis: more gridlines than this are
// noise at phone width.
const maxTicks = 5

// Axis is a value axis: ticks from 0 to Top every Step, Top being the
// smallest multiple of Step at or above the largest value drawn.
type Axis struct {
	Step, Top int
}

// Ticks are the axis values from 0 to Top, bottom first.
func (a Axis) Ticks() []int {
	if a.Step <= 0 {
		return nil
	}
	var ticks []int
	for v := 0; v <= a.Top; v += a.Step {
		ticks = append(ticks, v)
	}
	return ticks
}

// NiceAxis returns the axis for values up to largest: the step is the
// smallest of 1, 2, 5, 10, 20, 50… that draws largest with at most maxTicks intervals,
// so labels read as round numbers. An empty chart gets 0 and 1.
func NiceAxis(largest int) Axis {
	if largest <= 0 {
		return Axis{Step: 1, Top: 1}
	}
	for magnitude := 1; ; magnitude *= 10 {
		for _, m := range []int{1, 2, 5} {
			step := m * magnitude
			if intervals := (largest + step - 1) / step; intervals <= maxTicks {
				return Axis{Step: step, Top: intervals * step}
			}
		}
	}
}

// matchingAxis returns an axis for values up to largest with exactly the
// intervals of other, so both can share its gridlines: the step is the
// smallest round number (1, 2, 2.5, 5 × a power of ten, whole numbers only)
// that reaches largest in that many intervals.
func matchingAxis(largest int, other Axis) Axis {
	intervals := max(1, other.Top/max(1, other.Step))
	need := max(1, (largest+intervals-1)/intervals)
	for magnitude := 1; ; magnitude *= 10 {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step := m * float64(magnitude)
			if step != float64(int(step)) || int(step) < need {
				continue
			}
			return Axis{Step: int(step), Top: int(step) * intervals}
		}
	}
}

// Chart is the geometry of the sign-ups chart over a width×height plot.
type Chart struct {
	Width, Height float64
	Bars          []Bar
	Axis          Axis // daily sign-ups (left)
	// Running is the running total as a polyline's points, scaled to
	// RunningAxis (right), which shares Axis's gridlines.
	Running     string
	RunningAxis Axis
}

// Chart lays out one bar per day across a width×height plot: equal slots
// left to right, bars standing on the bottom edge and scaled to the
// daily axis, plus the running total as a line over the same days.
func (r Report) Chart(width, height float64) Chart {
	c := Chart{Width: width, Height: height, Axis: NiceAxis(r.Max)}
	c.RunningAxis = matchingAxis(r.Total, c.Axis)
	if len(r.Days) == 0 || width <= 0 || height <= 0 {
		return c
	}
	slot := width / float64(len(r.Days))
	c.Bars = make([]Bar, len(r.Days))
	var points strings.Builder
	running := 0
	for i, d := range r.Days {
		h := float64(d.Total) / float64(c.Axis.Top) * height
		c.Bars[i] = Bar{
			X:      float64(i)*slot + slot*barGap/2,
			Y:      height - h,
			Width:  slot * (1 - barGap),
			Height: h,
			Day:    d.Day,
			Total:  d.Total,
			Label:  barLabel(d.Day, d.Total),
		}
		running += d.Total
		if i > 0 {
			points.WriteByte(' ')
		}
		y := height - float64(running)/float64(c.RunningAxis.Top)*height
		points.WriteString(strconv.FormatFloat(float64(i)*slot+slot/2, 'f', 2, 64) + "," + strconv.FormatFloat(y, 'f', 2, 64))
	}
	c.Running = points.String()
	return c
}

func barLabel(day time.Time, n int) string {
	noun := "sign-ups"
	if n == 1 {
		noun = "sign-up"
	}
	return fmt.Sprintf("%s: %d %s", day.UTC().Format("Mon Jan 2"), n, noun)
}
