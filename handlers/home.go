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
	sess, who, err := h.signedIn.load(w, r)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	if err := sess.Save(r, w); err != nil {
		h.pages.fail(w, r, who, err)
		return
	}
	h.pages.render(w, r, http.StatusOK, views.HomePage(h.pages.page(r, "Home", who)))
}
