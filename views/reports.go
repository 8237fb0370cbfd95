package views

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// ReportView is the sign-ups report page.
type ReportView struct {
	Heading string // e.g. "Last 30 days"
	Range   string // e.g. "Oct 30 – Nov 28, 2026 (UTC)"
	Form    RangeForm

	Total      int
	Average    string // daily mean, one decimal
	Busiest    int
	BusiestDay string // "" when no day had a sign-up
	ActiveDays string // e.g. "21 of 30"
	ByRole     []RoleCount

	Days  []DayRow
	Chart ChartView

	CanExport   bool
	ExportURL   string
	GeneratedAt string
	ScriptURL   string // the chart's optional enhancement; "" for none
}

// RangeForm is the range picker: the presets as links and a custom from/to
// pair, all plain GETs so a range can be shared as an address.
type RangeForm struct {
	Presets  []RangeChoice
	From, To string // YYYY-MM-DD, the range shown (or what was typed)
	Today    string // the latest day one can pick
	Error    string // why the asked range was refused; "" when it was not
}

// RangeChoice is one preset range link.
type RangeChoice struct {
	Label, URL string
	Current    bool
}

// ChartView is the server-rendered SVG chart: bars for each day against
// the left axis and the running total as a line against the right one,
// both sharing the gridlines.
type ChartView struct {
	Width, Height float64
	Title, Desc   string
	Bars          []ChartBar
	Grid          []GridLine
	Running       string // polyline points
	FirstDay      string // labels under the chart
	MidDay        string
	LastDay       string
}

// GridLine is one horizontal gridline with its value on each axis; Grid
// lists them top first.
type GridLine struct {
	Y              float64 // in chart units
	Daily, Running string
}

// RoleCount is the number of sign-ups counted under one role.
type RoleCount struct {
	Role  string // "" = no role
	Count int
	Share int // percent of the total, rounded
}

// ShareLabel is Share for people: "<1%" for a share that rounds to 0
// but is not nothing.
func (r RoleCount) ShareLabel() string {
	if r.Share == 0 && r.Count > 0 {
		return "<1%"
	}
	return strconv.Itoa(r.Share) + "%"
}

// RoleLabel names a role bucket for people, in sentence case.
func (r RoleCount) RoleLabel() string {
	if r.Role == "" {
		return "No role"
	}
	first, size := utf8.DecodeRuneInString(r.Role)
	return string(unicode.ToUpper(first)) + r.Role[size:]
}

// DayRow is one day in the accessible data table behind the chart.
type DayRow struct {
	Day            string
	Total, Running int
}

// ChartBar is one bar of the server-rendered SVG chart.
type ChartBar struct {
	X, Y, Width, Height float64
	Label               string
}

// AccessView explains why a page is not shown: denied, pending or
// authorization unavailable.
type AccessView struct {
	Who       string // the signed-in person, e.g. "Nora Norole (norole@example.com)"
	Asked     string // what was asked, e.g. "view reports"
	Role      string // the role that would grant it, e.g. "viewer"
	RequestID string
	Retry     string // the address to try again (a GET's own), "" when none
	// Request is the access request part; nil when the permission cannot
	// be requested.
	Request *AccessRequestView
}
