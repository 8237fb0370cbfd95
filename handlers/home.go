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
	h.pages.render(w, r, http.StatusOK, views.HomePage(h.pages.page(r, "Home", who)))
}
