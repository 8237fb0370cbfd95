package handlers

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/auth"
	"reportgate/views"
)

// AuditLog writes and reads the audit trail (audit.Trail).
type AuditLog interface {
	Record(ctx context.Context, e audit.Entry) error
	List(ctx context.Context, f audit.Filter, limit, offset int) ([]audit.Entry, int, error)
}

// auditPageSize is how many entries /admin/audit shows at once.
const auditPageSize = 100

// maxAuditExport bounds the CSV export.
const maxAuditExport = 100000

// record writes an audit entry about a change already made; a failure is
// logged, as the change itself stands.
func record(ctx context.Context, pages *pageRenderer, log AuditLog, e audit.Entry) {
	if log == nil {
		return
	}
	if err := log.Record(ctx, e); err != nil {
		pages.logger.ErrorContext(ctx, "audit", "action", e.Action, "err", err)
	}
}

// actorName is how the trail names a signed-in person.
func actorName(who *auth.Identity) string {
	if who.Name != "" {
		return who.Name
	}
	return who.Email
}

type auditHandler struct {
	guard *guard
	pages *pageRenderer
	trail AuditLog
}

func auditFilter(r *http.Request) (audit.Filter, int) {
	clean := func(k string) string {
		v := strings.TrimSpace(strings.ReplaceAll(strings.ToValidUTF8(r.FormValue(k), ""), "\x00", ""))
		if len(v) > maxSearch {
			v = v[:maxSearch]
		}
		return strings.ToValidUTF8(v, "")
	}
	return audit.Filter{Person: clean("person"), Actor: clean("actor"), Action: clean("action")}, pageNumber(r)
}

func (h *auditHandler) show(w http.ResponseWriter, r *http.Request, in admitted) {
	who, decisions := in.who, in.decisions
	f, page := auditFilter(r)
	entries, total, err := h.trail.List(r.Context(), f, auditPageSize, (page-1)*auditPageSize)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.AuditView{Person: f.Person, Actor: f.Actor, Action: f.Action, Total: total,
		CSVURL: views.AuditURL("/admin/audit.csv", f.Person, f.Actor, f.Action, 0)}
	for _, e := range entries {
		row := views.AuditRow{At: e.At.UTC().Format("2006-01-02 15:04:05"), ActorID: e.ActorID, Actor: e.ActorName,
			Action: e.Action, SubjectID: e.SubjectID, Subject: e.SubjectName, Role: e.Role, Permission: e.Permission,
			Detail: e.Detail}
		if e.RequestID != 0 {
			row.RequestID = strconv.FormatInt(e.RequestID, 10)
		}
		v.Rows = append(v.Rows, row)
	}
	if len(entries) > 0 {
		v.From = (page-1)*auditPageSize + 1
		v.To = v.From + len(entries) - 1
	}
	if page > 1 {
		v.PrevURL = views.AuditURL("/admin/audit", f.Person, f.Actor, f.Action, page-1)
	}
	if page*auditPageSize < total {
		v.NextURL = views.AuditURL("/admin/audit", f.Person, f.Actor, f.Action, page+1)
	}
	h.pages.render(w, r, http.StatusOK, views.AdminAuditPage(h.guard.page(w, r, "Audit trail", who, decisions), v))
}

func (h *auditHandler) export(w http.ResponseWriter, r *http.Request, in admitted) {
	who := in.who
	f, _ := auditFilter(r)
	entries, _, err := h.trail.List(r.Context(), f, maxAuditExport, 0)
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	var buf bytes.Buffer
	if err := audit.WriteCSV(&buf, entries); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	w.Write(buf.Bytes())
}
