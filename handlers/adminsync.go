package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"reportgate/internal/metrics"
	"reportgate/internal/provision"
	"reportgate/views"
)

// SyncAdmin is the provisioning queue as the admin page sees it.
type SyncAdmin interface {
	Overview(ctx context.Context) (provision.Overview, error)
	RetryJob(ctx context.Context, jobID int64) error
}

type adminSyncHandler struct {
	guard *guard
	pages *pageRenderer
	sync  SyncAdmin
	// deliveries are this replica's in-memory delivery counts; rejected
	// deliveries are counted only there.
	deliveries func(outcomes ...string) []metrics.Count
}

func (h *adminSyncHandler) show(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.guard.admit(w, r, canManageSync)
	if !ok {
		return
	}
	ov, err := h.sync.Overview(r.Context())
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.SyncView{Notice: r.URL.Query().Get("notice")}
	for _, c := range ov.Counts {
		v.Counts = append(v.Counts, views.CountRow{Kind: c.Kind, Last24h: int(c.Last24h), Total: int(c.Total)})
	}
	for _, c := range h.deliveries(RejectedOutcomes...) {
		v.Counts = append(v.Counts, views.CountRow{Kind: c.Kind, Last24h: int(c.Last24h), Total: int(c.Total), PerReplica: true})
	}
	for _, e := range ov.Recent {
		v.Events = append(v.Events, views.EventRow{At: stamp(e.ReceivedAt), Event: e.Event, UserID: e.UserID, Outcome: e.Outcome})
	}
	for _, j := range ov.Pending {
		v.Jobs = append(v.Jobs, jobRow(j, false))
	}
	for _, j := range ov.Failed {
		v.Jobs = append(v.Jobs, jobRow(j, true))
	}
	h.pages.render(w, r, http.StatusOK, views.AdminSyncPage(h.pages.page(r, "User sync", who), v))
}

func (h *adminSyncHandler) retry(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.guard.admit(w, r, canManageSync)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		// No job has such an id, so this is an address that leads nowhere.
		h.pages.fail(w, r, who, fmt.Errorf("retry job %q: %w", r.PathValue("id"), provision.ErrJobNotFound))
		return
	}
	if err := h.sync.RetryJob(r.Context(), id); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.logger.InfoContext(r.Context(), "sync job retried", "by", who.Subject, "job", id)
	http.Redirect(w, r, "/admin/sync?notice="+url.QueryEscape("Job "+strconv.FormatInt(id, 10)+" queued again."), http.StatusSeeOther)
}

func jobRow(j provision.JobSummary, failed bool) views.JobRow {
	return views.JobRow{ID: j.ID, UserID: j.UserID, State: j.State, Attempts: j.Attempt, LastError: j.LastError,
		At: stamp(j.ScheduledAt), Retryable: failed || j.State == "retryable"}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
