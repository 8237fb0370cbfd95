package views

// ReportView is the sign-ups report page.
type ReportView struct {
	Range       string // e.g. "Oct 30 – Nov 28, 2026 (UTC)"
	FirstDay    string // axis labels under the chart
	LastDay     string
	Total       int
	ByRole      []RoleCount
	Days        []DayRow
	Bars        []ChartBar
	ChartWidth  float64
	ChartHeight float64
	Max         int
	CanExport   bool
	ExportURL   string
	GeneratedAt string
}

// RoleCount is the number of sign-ups counted under one role.
type RoleCount struct {
	Role  string // "" = no role
	Count int
}

// RoleLabel names a role bucket for people.
func (r RoleCount) RoleLabel() string {
	if r.Role == "" {
		return "No role"
	}
	return r.Role
}

// DayRow is one day in the accessible data table behind the chart.
type DayRow struct {
	Day   string
	Total int
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
