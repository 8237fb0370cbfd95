package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/perm"
	"reportgate/internal/reports"
	"reportgate/internal/reqid"
	"reportgate/views"
)

// Authorizer answers permission questions (Permit.io).
type Authorizer interface {
	AllowedAll(ctx context.Context, u authz.User, reqs ...authz.Request) (map[authz.Request]bool, error)
}

// ReportSource builds the sign-ups report of a range of days.
type ReportSource interface {
	Signups(ctx context.Context, rg reports.Range) (reports.Report, error)
}

// Chart size in SVG user units; the CSS stretches it to the card.
const chartWidth, chartHeight = 600.0, 200.0

// guard admits a signed-in person to a page only with Permit's say-so.
type guard struct {
	signedIn *signedIn
	pages    *pageRenderer
	authz    Authorizer
	people   People
	failed   FailedJobs // nil: no badge
	// requests may be nil: no request form, no badge.
	requests AccessRequests
}

// admit resolves the person and the decisions for p and also. It writes
// the response itself (sign-in redirect, 403, 503, pending) and returns
// ok=false whenever the page must not be shown.
func (g *guard) admit(w http.ResponseWriter, r *http.Request, p perm.Name, also ...perm.Name) (admitted, bool) {
	who, err := g.signedIn.resolve(w, r)
	if err != nil {
		g.pages.fail(w, r, nil, err)
		return admitted{}, false
	}
	if who == nil {
		target := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			target = r.URL.Path
		}
		http.Redirect(w, r, "/sign-in?return_to="+url.QueryEscape(target), http.StatusSeeOther)
		return admitted{}, false
	}
	reqs := []authz.Request{p.Request()}
	for _, a := range also {
		reqs = append(reqs, a.Request())
	}
	decisions, err := g.decide(r.Context(), who, reqs...)
	if err == nil && decisions.allow(p) {
		return admitted{who: who, decisions: decisions}, true
	}
	words := wordingOf(p)
	access := views.AccessView{Who: displayWho(who), RequestID: reqid.From(r.Context()), Asked: words.asked, Role: words.role}
	if r.Method == http.MethodGet {
		access.Retry = r.URL.RequestURI()
	}
	if err != nil {
		page := g.page(w, r, "Permissions unavailable", who, nil)
		// Fail closed: no decision, no page (never a silent deny either).
		g.pages.logger.WarnContext(r.Context(), "authorization unavailable", "user", who.Subject, "err", err)
		w.Header().Set("Retry-After", "5")
		g.pages.render(w, r, http.StatusServiceUnavailable, views.AuthzUnavailable(page, access))
		return admitted{}, false
	}
	if words.setupAware && g.people != nil {
		if pending, err := g.people.Pending(r.Context(), who.Subject); err == nil && pending {
			// A new person whose grant is still on its way to the PDP.
			page := g.page(w, r, "Access being set up", who, decisions)
			w.Header().Set("Refresh", "3")
			g.pages.render(w, r, http.StatusOK, views.AccessPending(page, access))
			return admitted{}, false
		}
	}
	access.Request = g.requestView(r, who, p)
	g.pages.render(w, r, http.StatusForbidden, views.AccessDenied(g.page(w, r, "Access denied", who, decisions), access))
	return admitted{}, false
}

type reportsHandler struct {
	guard   *guard
	pages   *pageRenderer
	reports ReportSource
	bodies  sharedBodies
	audit   AuditLog // nil: exports are not recorded
}

// report builds the report of the range the address asks for. A range
// that cannot be shown is answered 400 with the range picker re-shown and
// the reason.
func (h *reportsHandler) report(w http.ResponseWriter, r *http.Request, in admitted) (reports.Report, bool) {
	who, decisions := in.who, in.decisions
	now := time.Now()
	rg, err := reports.ParseRange(r.URL.Query(), now)
	if err != nil {
		form := rangeForm(reports.Range{}, now)
		form.From, form.To, form.Error = r.URL.Query().Get("from"), r.URL.Query().Get("to"), err.Error()
		page := h.guard.page(w, r, "Reports", who, decisions)
		h.pages.render(w, r, http.StatusBadRequest, views.ReportRangeInvalid(page, form))
		return reports.Report{}, false
	}
	report, err := h.reports.Signups(r.Context(), rg)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return reports.Report{}, false
	}
	return report, true
}

func (h *reportsHandler) show(w http.ResponseWriter, r *http.Request, in admitted) {
	report, ok := h.report(w, r, in)
	if !ok {
		return
	}
	who, decisions := in.who, in.decisions
	canExport := decisions.allow(perm.ReportsExport)
	var body *segment
	if report.Range.Custom() {
		// Built for this request alone: nothing to share.
		plain, err := renderBody(r.Context(), report, canExport, h.pages.assets.URL("chart.js"))
		if err != nil {
			h.pages.fail(w, r, who, err)
			return
		}
		body = &segment{plain: plain}
	} else {
		var err error
		if body, err = h.bodies.get(r.Context(), report, canExport, h.pages.assets.URL("chart.js")); err != nil {
			h.pages.fail(w, r, who, err)
			return
		}
	}
	h.pages.renderAround(w, r, http.StatusOK, h.guard.page(w, r, "Reports", who, decisions), body)
}

// sharedBodies holds the report body rendered for each preset report the
// source serves now (which it caches for its TTL), in its two variants:
// with and without the export link. Everything else in it is the same for
// every reader; the layout, which names the reader, is rendered per
// request.
type sharedBodies struct {
	mu      sync.Mutex
	presets map[int]*presetBodies // by preset length in days
}

type presetBodies struct {
	generated time.Time   // Report.GeneratedAt of the bodies below
	bodies    [2]*segment // plain and deflated
}

func (s *sharedBodies) get(ctx context.Context, report reports.Report, canExport bool, scriptURL string) (*segment, error) {
	i := 0
	if canExport {
		i = 1
	}
	// Held while rendering: once per report and variant, and the readers
	// who wait would otherwise all render the same bytes.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.presets == nil {
		s.presets = map[int]*presetBodies{}
	}
	p := s.presets[report.Range.Days]
	if p == nil || !p.generated.Equal(report.GeneratedAt) {
		p = &presetBodies{generated: report.GeneratedAt}
		s.presets[report.Range.Days] = p
	}
	if p.bodies[i] == nil {
		plain, err := renderBody(ctx, report, canExport, scriptURL)
		if err != nil {
			return nil, err
		}
		p.bodies[i] = &segment{plain: plain, deflated: deflateShared(plain)}
	}
	return p.bodies[i], nil
}

// renderBody renders the report's content, without the layout.
func renderBody(ctx context.Context, report reports.Report, canExport bool, scriptURL string) ([]byte, error) {
	var buf bytes.Buffer
	if err := views.ReportBody(reportView(report, canExport, scriptURL)).Render(ctx, &buf); err != nil {
		return nil, fmt.Errorf("render report body: %w", err)
	}
	return buf.Bytes(), nil
}

func (h *reportsHandler) export(w http.ResponseWriter, r *http.Request, in admitted) {
	report, ok := h.report(w, r, in)
	if !ok {
		return
	}
	who := in.who
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, report); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	name := "signups-" + report.From.Format(time.DateOnly) + "-to-" + report.To.Format(time.DateOnly) + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(buf.Bytes())
	if r.Method == http.MethodHead {
		return // GET routes answer HEAD too; no data left, so nothing to record
	}
	record(r.Context(), h.pages, h.audit, audit.Entry{ActorID: who.Subject, ActorName: actorName(who),
		Action: audit.ReportExported, SubjectID: who.Subject, SubjectName: actorName(who), Detail: name})
}

// withQuery is path with the range's query, if any.
func withQuery(path string, rg reports.Range) string {
	if q := rg.Query(); q != "" {
		return path + "?" + q
	}
	return path
}

// rangeForm is the range picker showing rg (none current when rg is the
// zero Range).
func rangeForm(rg reports.Range, now time.Time) views.RangeForm {
	f := views.RangeForm{Today: now.UTC().Format(time.DateOnly)}
	for _, days := range reports.Presets {
		f.Presets = append(f.Presets, views.RangeChoice{
			Label:   fmt.Sprintf("%d days", days),
			URL:     withQuery("/reports", reports.Last(days)),
			Current: rg.Days == days,
		})
	}
	return f
}

func reportView(r reports.Report, canExport bool, scriptURL string) views.ReportView {
	days := len(r.Days)
	v := views.ReportView{
		Heading:     fmt.Sprintf("Last %d days", r.Range.Days),
		Range:       r.From.Format("Jan 2, 2006") + " – " + r.To.Format("Jan 2, 2006") + " (UTC)",
		Form:        rangeForm(r.Range, r.GeneratedAt),
		Total:       r.Total,
		Average:     "0",
		Busiest:     r.Max,
		CanExport:   canExport,
		ExportURL:   withQuery("/reports/export.csv", r.Range),
		GeneratedAt: r.GeneratedAt.UTC().Format(time.RFC1123),
		ScriptURL:   scriptURL,
	}
	if r.From.Year() == r.To.Year() {
		v.Range = r.From.Format("Jan 2") + " – " + r.To.Format("Jan 2, 2006") + " (UTC)"
	}
	if r.Range.Custom() {
		v.Heading = views.Plural(days, "day")
	}
	v.Form.From, v.Form.To = r.From.Format(time.DateOnly), r.To.Format(time.DateOnly)
	if days > 0 {
		v.Average = strconv.FormatFloat(float64(r.Total)/float64(days), 'f', 1, 64)
	}
	for _, rt := range r.ByRole {
		v.ByRole = append(v.ByRole, views.RoleCount{Role: rt.Role, Count: rt.Count, Share: percent(rt.Count, r.Total)})
	}
	active, running := 0, 0
	for _, d := range r.Days {
		running += d.Total
		if d.Total > 0 {
			active++
		}
		if r.Max > 0 && d.Total == r.Max && v.BusiestDay == "" {
			v.BusiestDay = d.Day.Format("Mon Jan 2")
		}
		v.Days = append(v.Days, views.DayRow{Day: d.Day.Format("Mon Jan 2, 2006"), Total: d.Total, Running: running})
	}
	v.ActiveDays = fmt.Sprintf("%d of %d", active, days)
	v.Chart = chartView(r)
	return v
}

// chartView is the chart's geometry and words.
func chartView(r reports.Report) views.ChartView {
	c := r.Chart(chartWidth, chartHeight)
	v := views.ChartView{
		Width:   c.Width,
		Height:  c.Height,
		Title:   "Daily sign-ups, " + r.From.Format("Jan 2, 2006") + " to " + r.To.Format("Jan 2, 2006") + " (UTC)",
		Running: c.Running,
		Desc: fmt.Sprintf("Bar chart of %d days with a line for the running total: %d sign-ups in all, at most %d on one day. "+
			"The table below the chart lists every day.", len(r.Days), r.Total, r.Max),
	}
	if n := len(r.Days); n > 0 {
		v.FirstDay = r.Days[0].Day.Format("Jan 2")
		v.MidDay = r.Days[n/2].Day.Format("Jan 2")
		v.LastDay = r.Days[n-1].Day.Format("Jan 2")
	}
	daily, running := c.Axis.Ticks(), c.RunningAxis.Ticks()
	// Top first, as the labels are laid out.
	for i := len(daily) - 1; i >= 0; i-- {
		g := views.GridLine{
			Y:     c.Height - float64(daily[i])/float64(c.Axis.Top)*c.Height,
			Daily: strconv.Itoa(daily[i]),
		}
		if i < len(running) {
			g.Running = strconv.Itoa(running[i])
		}
		v.Grid = append(v.Grid, g)
	}
	for _, b := range c.Bars {
		v.Bars = append(v.Bars, views.ChartBar{X: b.X, Y: b.Y, Width: b.Width, Height: b.Height, Label: b.Label})
	}
	return v
}

// percent is part of whole in whole percent, rounded; 0 for an empty whole.
func percent(part, whole int) int {
	if whole == 0 {
		return 0
	}
	return (part*200 + whole) / (whole * 2)
}

func displayWho(who *auth.Identity) string {
	switch {
	case who.Name != "" && who.Email != "":
		return who.Name + " (" + who.Email + ")"
	case who.Email != "":
		return who.Email
	case who.Name != "":
		return who.Name
	}
	return who.Subject
}
