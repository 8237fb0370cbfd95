package permit

import "net/http"

// index answers the stand-in's root, which `reportgate dev` prints, with
// what the server is instead of an API 404. It needs no API key.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"service": "Permit.io stand-in (reportgate dev): the Permit API and a PDP on one port",
		"api":     "/v2/… with the API key as a Bearer token (PERMIT_API_URL)",
		"pdp":     "POST /allowed, /allowed/bulk, /user-permissions (PERMIT_PDP_URL)",
	})
}
