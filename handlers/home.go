package handlers

import (
	"net/http"

	"reportgate/internal/perm"
	"reportgate/views"
)

type homeHandler struct {
	guard *guard
	pages *pageRenderer
}

func (h *homeHandler) show(w http.ResponseWriter, r *http.Request) {
	who, err := h.guard.signedIn.resolve(w, r)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	if who == nil {
		// Signed out: no decision to make, so no PDP call.
		page := h.pages.page(r, "Home", nil)
		page.Flash = h.guard.signedIn.sessions.TakeNotice(w, r) // e.g. "Sign-up cancelled."
		h.pages.render(w, r, http.StatusOK, views.HomePage(page, views.HomeView{}))
		return
	}
	v := views.HomeView{CanViewReports: true}
	decisions, err := h.guard.decide(r.Context(), who, perm.ReportsView.Request())
	if err != nil {
		// The reports page explains an unavailable PDP better than home
		// can, so the link stays; the admin entry waits for an answer.
		h.pages.logger.WarnContext(r.Context(), "authorization unavailable on home", "user", who.Subject, "err", err)
	} else {
		v.CanViewReports = decisions.allow(perm.ReportsView)
	}
	h.pages.render(w, r, http.StatusOK, views.HomePage(h.guard.page(w, r, "Home", who, decisions), v))
}
