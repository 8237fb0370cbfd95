package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

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
const chartWidth, chartHeight = 600.0, 200.0

type reportsHandler struct {
	signedIn *signedIn
	pages    *pageRenderer
	authz    Authorizer
	reports  ReportSource
	setup    AccessSetup
}

// gate resolves the person and the decisions for the report page. It
// writes the response itself (sign-in redirect, 403, 503, pending) and
// returns ok=false whenever the report must not be shown.
func (h *reportsHandler) gate(w http.ResponseWriter, r *http.Request, need authz.Request) (*auth.Identity, map[authz.Request]bool, bool) {
	sess, who, err := h.signedIn.load(w, r)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return nil, nil, false
	}
	if err := sess.Save(r, w); err != nil {
		h.pages.fail(w, r, who, err)
		return nil, nil, false
	}
	if who == nil {
		http.Redirect(w, r, "/sign-in?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, nil, false
	}
	decisions, err := h.authz.AllowedAll(r.Context(), authz.User{Key: who.Subject, Email: who.Email, Name: who.Name}, viewReports, exportReports)
	access := views.AccessView{Who: displayWho(who), RequestID: reqid.From(r.Context())}
	page := h.pages.page(r, "Reports", who)
	if err != nil {
		// Fail closed: no decision, no report (never a silent deny either).
		h.pages.logger.WarnContext(r.Context(), "authorization unavailable", "user", who.Subject, "err", err)
		w.Header().Set("Retry-After", "5")
		h.pages.render(w, r, http.StatusServiceUnavailable, views.AuthzUnavailable(page, access))
		return nil, nil, false
	}
	if !decisions[need] {
		if need == viewReports && h.setup != nil {
			if pending, err := h.setup.Pending(r.Context(), who.Subject); err == nil && pending {
				// A new person whose grant is still on its way to the PDP.
				w.Header().Set("Refresh", "3")
				h.pages.render(w, r, http.StatusOK, views.AccessPending(page, access))
				return nil, nil, false
			}
		}
		access.Asked, access.Role = "view reports", "viewer"
		if need == exportReports {
			access.Asked, access.Role = "export reports", "analyst"
		}
		h.pages.render(w, r, http.StatusForbidden, views.AccessDenied(page, access))
		return nil, nil, false
	}
	return who, decisions, true
}

func (h *reportsHandler) show(w http.ResponseWriter, r *http.Request) {
	who, decisions, ok := h.gate(w, r, viewReports)
	if !ok {
		return
	}
	report, err := h.reports.SignupsLast30Days(r.Context())
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.render(w, r, http.StatusOK, views.ReportPage(h.pages.page(r, "Reports", who), reportView(report, decisions[exportReports])))
}

func (h *reportsHandler) export(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.gate(w, r, exportReports)
	if !ok {
		return
	}
	report, err := h.reports.SignupsLast30Days(r.Context())
	if err != nil {
		h.pages.fail(w, r, who, err)
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
}

func reportView(r reports.Report, canExport bool) views.ReportView {
	v := views.ReportView{
		Range:       r.From.Format("Jan 2") + " – " + r.To.Format("Jan 2, 2006") + " (UTC)",
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

