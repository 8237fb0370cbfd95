package handlers

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"reportgate/internal/metrics"
	"reportgate/internal/people"
	"reportgate/internal/provision"
	"reportgate/views"
)

// SyncAdmin is the provisioning queue as the admin pages see it.
type SyncAdmin interface {
	OverviewOf(ctx context.Context, q provision.OverviewQuery) (provision.Overview, error)
	RetryJob(ctx context.Context, jobID int64) error
	// FailedJobs counts the jobs that gave up, for the nav badge.
	FailedJobs(ctx context.Context) (int, error)
}

type adminSyncHandler struct {
	guard  *guard
	pages  *pageRenderer
	sync   SyncAdmin
	people People
	// deliveries are this replica's in-memory delivery counts; rejected
	// deliveries are counted only there.
	deliveries func(outcomes ...string) []metrics.Count
}

func (h *adminSyncHandler) show(w http.ResponseWriter, r *http.Request, in admitted) {
	who, decisions := in.who, in.decisions
	// Ignored deliveries (PostSignIn above all) would fill the list; they
	// are listed only on request.
	showIgnored := r.URL.Query().Get("events") == "all"
	ov, err := h.sync.OverviewOf(r.Context(), provision.OverviewQuery{Ignored: showIgnored})
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	names, err := h.people.Names(r.Context(), userIDs(ov))
	if err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	v := views.SyncView{ShowIgnored: showIgnored}
	for _, c := range ov.Counts {
		v.Counts = append(v.Counts, views.CountRow{Kind: c.Kind, Last24h: int(c.Last24h), Total: int(c.Total)})
		if c.Kind == string(provision.OutcomeIgnored) {
			v.IgnoredLast24h = int(c.Last24h)
		}
	}
	for _, c := range h.deliveries(rejectedOutcomes...) {
		v.Counts = append(v.Counts, views.CountRow{Kind: c.Kind, Last24h: int(c.Last24h), Total: int(c.Total), PerReplica: true})
	}
	for _, e := range ov.Recent {
		v.Events = append(v.Events, views.EventRow{At: stamp(e.ReceivedAt), Event: e.Event, User: person(names, e.UserID), Outcome: e.Outcome})
	}
	for _, j := range ov.Pending {
		v.Jobs = append(v.Jobs, jobRow(j, names, false))
	}
	for _, j := range ov.Failed {
		v.Jobs = append(v.Jobs, jobRow(j, names, true))
	}
	h.pages.render(w, r, http.StatusOK, views.AdminSyncPage(h.guard.page(w, r, "User sync", who, decisions), v))
}

func (h *adminSyncHandler) retry(w http.ResponseWriter, r *http.Request, in admitted) {
	who := in.who
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
	h.guard.notify(w, r, who, "/admin/sync", "Job "+strconv.FormatInt(id, 10)+" queued again.")
}

// userIDs are the people the overview's rows are about, each once.
func userIDs(ov provision.Overview) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, e := range ov.Recent {
		add(e.UserID)
	}
	for _, j := range append(ov.Pending, ov.Failed...) {
		add(j.UserID)
	}
	return ids
}

// person names id from names: the name, else the email, else nothing.
func person(names map[string]people.Person, id string) views.Person {
	u := names[id]
	return views.Person{ID: id, Name: cmp.Or(u.Name, u.Email)}
}

func jobRow(j provision.JobSummary, names map[string]people.Person, failed bool) views.JobRow {
	return views.JobRow{ID: j.ID, User: person(names, j.UserID), State: j.State, Attempts: j.Attempt, LastError: j.LastError,
		At: stamp(j.ScheduledAt), Retryable: failed || j.State == "retryable"}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
