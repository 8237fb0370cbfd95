package handlers

import (
	"net/http"

	"reportgate/views"
)

type homeHandler struct {
	signedIn *signedIn
	pages    *pageRenderer
}

func (h *homeHandler) show(w http.ResponseWriter, r *http.Request) {
	who, err := h.signedIn.resolve(w, r)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	page := h.pages.page(r, "Home", who)
	if who == nil {
		page.Flash = h.signedIn.sessions.TakeNotice(w, r)
	}
	h.pages.render(w, r, http.StatusOK, views.HomePage(page))
}
