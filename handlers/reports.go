package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/reports"
	"reportgate/internal/reqid"
	"reportgate/views"
)

// Authorizer answers permission questions (Permit.io).
type Authorizer interface {
	AllowedAll(ctx context.Context, u authz.User, reqs ...authz.Request) (map[authz.Request]bool, error)
}

// ReportSource builds the sign-ups report.
type ReportSource interface {
	SignupsLast30Days(ctx context.Context) (reports.Report, error)
}

// AccessSetup says whether a person's access is still being set up (their
// sync to Permit is queued, failing, or too recent to have propagated).
type AccessSetup interface {
	Pending(ctx context.Context, userID string) (bool, error)
}

var (
	viewReports   = authz.Request{Resource: "reports", Action: "view"}
	exportReports = authz.Request{Resource: "reports", Action: "export"}
)

// Chart size in SVG user units; the CSS scales it to the page width.
const chartWidth, chartHeight = 600.0, 160.0

// guard admits a signed-in person to a page only with Permit's say-so.
type guard struct {
	signedIn *signedIn
	pages    *pageRenderer
	authz    Authorizer
	setup    AccessSetup
	failed   FailedJobs // nil: no badge
	// requests may be nil: no request form, no badge.
	requests AccessRequests
}

// permission describes what a page needs, for the access-denied view.
type permission struct {
	need  authz.Request
	asked string // e.g. "view reports"
	role  string // the role that grants it
	// also asks for more decisions in the same round trip (e.g. export on
	// the report page, to show the link).
	also []authz.Request
	// setupAware pages show "access being set up" to a person whose first
	// grant is still on its way, instead of "denied".
	setupAware bool
}

// admit resolves the person and the decisions. It writes the response
// itself (sign-in redirect, 403, 503, pending) and returns ok=false
// whenever the page must not be shown.
func (g *guard) admit(w http.ResponseWriter, r *http.Request, p permission) (*auth.Identity, map[authz.Request]bool, bool) {
	who, err := g.signedIn.resolve(w, r)
	if err != nil {
		g.pages.fail(w, r, nil, err)
		return nil, nil, false
	}
	if who == nil {
		target := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			target = r.URL.Path
		}
		http.Redirect(w, r, "/sign-in?return_to="+url.QueryEscape(target), http.StatusSeeOther)
		return nil, nil, false
	}
	decisions, err := g.decide(r.Context(), who, append([]authz.Request{p.need}, p.also...)...)
	if err == nil && decisions[p.need] {
		return who, decisions, true
	}
	access := views.AccessView{Who: displayWho(who), RequestID: reqid.From(r.Context()), Asked: p.asked, Role: p.role}
	if r.Method == http.MethodGet {
		access.Retry = r.URL.RequestURI()
	}
	if err != nil {
		page := g.page(w, r, "Permissions unavailable", who, nil)
		// Fail closed: no decision, no page (never a silent deny either).
		g.pages.logger.WarnContext(r.Context(), "authorization unavailable", "user", who.Subject, "err", err)
		w.Header().Set("Retry-After", "5")
		g.pages.render(w, r, http.StatusServiceUnavailable, views.AuthzUnavailable(page, access))
		return nil, nil, false
	}
	if p.setupAware && g.setup != nil {
		if pending, err := g.setup.Pending(r.Context(), who.Subject); err == nil && pending {
			// A new person whose grant is still on its way to the PDP.
			page := g.page(w, r, "Access being set up", who, decisions)
			w.Header().Set("Refresh", "3")
			g.pages.render(w, r, http.StatusOK, views.AccessPending(page, access))
			return nil, nil, false
		}
	}
	access.Request = g.requestView(r, who, p)
	g.pages.render(w, r, http.StatusForbidden, views.AccessDenied(g.page(w, r, "Access denied", who, decisions), access))
	return nil, nil, false
}

var (
	canViewReports   = permission{need: viewReports, asked: "view reports", role: "viewer", also: []authz.Request{exportReports}, setupAware: true}
	canExportReports = permission{need: exportReports, asked: "export reports", role: "analyst"}
)

type reportsHandler struct {
	guard   *guard
	pages   *pageRenderer
	reports ReportSource
	bodies  sharedBodies
	audit   AuditLog // nil: exports are not recorded
}

// admit lets the person in with p and builds the report for them.
func (h *reportsHandler) admit(w http.ResponseWriter, r *http.Request, p permission) (*auth.Identity, map[authz.Request]bool, reports.Report, bool) {
	who, decisions, ok := h.guard.admit(w, r, p)
	if !ok {
		return nil, nil, reports.Report{}, false
	}
	report, err := h.reports.SignupsLast30Days(r.Context())
	if err != nil {
		h.pages.fail(w, r, who, err)
		return nil, nil, reports.Report{}, false
	}
	return who, decisions, report, true
}

func (h *reportsHandler) show(w http.ResponseWriter, r *http.Request) {
	who, decisions, report, ok := h.admit(w, r, canViewReports)
	if !ok {
		return
	}
	body, err := h.bodies.get(r.Context(), report, decisions[exportReports])
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.renderAround(w, r, http.StatusOK, h.guard.page(w, r, "Reports", who, decisions), body)
}

// sharedBodies holds the report body rendered for the report the source
// serves now (which it caches for its TTL), in its two variants: with and
// without the export link. Everything else in it is the same for every
// reader; the layout, which names the reader, is rendered per request.
type sharedBodies struct {
	mu        sync.Mutex
	generated time.Time   // Report.GeneratedAt of the bodies below
	bodies    [2]*segment // plain and deflated
}

func (s *sharedBodies) get(ctx context.Context, report reports.Report, canExport bool) (*segment, error) {
	i := 0
	if canExport {
		i = 1
	}
	// Held while rendering: once per report and variant, and the readers
	// who wait would otherwise all render the same bytes.
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.generated.Equal(report.GeneratedAt) {
		s.generated, s.bodies = report.GeneratedAt, [2]*segment{}
	}
	if s.bodies[i] == nil {
		var buf bytes.Buffer
		if err := views.ReportBody(reportView(report, canExport)).Render(ctx, &buf); err != nil {
			return nil, fmt.Errorf("render report body: %w", err)
		}
		s.bodies[i] = &segment{plain: buf.Bytes(), deflated: deflateShared(buf.Bytes())}
	}
	return s.bodies[i], nil
}

func (h *reportsHandler) export(w http.ResponseWriter, r *http.Request) {
	who, _, report, ok := h.admit(w, r, canExportReports)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, report); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	name := "signups-" + report.To.Format("2006-01-02") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
	record(r.Context(), h.pages, h.audit, audit.Entry{ActorID: who.Subject, ActorName: actorName(who),
		Action: audit.ReportExported, SubjectID: who.Subject, SubjectName: actorName(who), Detail: name})
}

func reportView(r reports.Report, canExport bool) views.ReportView {
	v := views.ReportView{
		Range:       r.From.Format("Jan 2") + " – " + r.To.Format("Jan 2, 2006") + " (UTC)",
		FirstDay:    r.From.Format("Jan 2"),
		LastDay:     r.To.Format("Jan 2"),
		Total:       r.Total,
		Max:         r.Max,
		ChartWidth:  chartWidth,
		ChartHeight: chartHeight,
		CanExport:   canExport,
		ExportURL:   "/reports/export.csv",
		GeneratedAt: r.GeneratedAt.UTC().Format(time.RFC1123),
	}
	for _, rt := range r.ByRole {
		v.ByRole = append(v.ByRole, views.RoleCount{Role: rt.Role, Count: rt.Count})
	}
	for _, d := range r.Days {
		v.Days = append(v.Days, views.DayRow{Day: d.Day.Format("Mon Jan 2"), Total: d.Total})
	}
	for _, b := range r.Bars(chartWidth, chartHeight) {
		v.Bars = append(v.Bars, views.ChartBar{X: b.X, Y: b.Y, Width: b.Width, Height: b.Height, Label: b.Label})
	}
	return v
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
