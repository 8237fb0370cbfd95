package logto

import "net/http"

// index answers the stand-in's root, which `reportgate dev` prints, with
// what the server is and where its parts are, instead of a bare 404. The
// hosted sign-in pages need a flow started by the app, so none is linked.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"service":        "Logto stand-in (reportgate dev): OIDC provider, hosted sign-in pages, Management API",
		"discovery":      s.issuer + "/.well-known/openid-configuration",
		"management_api": s.cfg.Endpoint + "/api",
		"sign_in":        "start from the app's Sign in or Create account; the hosted pages need a flow the app starts",
	})
}
