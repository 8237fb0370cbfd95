package logto

import (
	"net/http"
	"strings"
)

// oidcMessages are Logto's English messages for OIDC errors
// (packages/phrases/src/locales/en/errors/oidc.ts); codes without one get
// the provider_error_fallback text.
var oidcMessages = map[string]string{
	"invalid_token":             "Invalid token provided.",
	"invalid_request":           "Request is invalid.",
	"invalid_grant":             "Grant request is invalid.",
	"invalid_target":            "Invalid resource indicator.",
	"access_denied":             "Access denied.",
	"unsupported_grant_type":    "Unsupported `grant_type` requested.",
	"unsupported_response_type": "Unsupported `response_type` requested.",
	"invalid_redirect_uri":      "`redirect_uri` did not match any of the client's registered `redirect_uris`.",
}

// oidcErrorBody is Logto's reshaped OIDC error (koa-oidc-error-handler.ts):
// Logto's code, message and error_uri first, then
// oidc-provider's own fields. Only invalid_grant has an error_uri.
type oidcErrorBody struct {
	Code             string `json:"code"`
	Message          string `json:"message"`
	ErrorURI         string `json:"error_uri,omitempty"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func newOIDCError(code, description string) oidcErrorBody {
	b := oidcErrorBody{Code: "oidc." + code, Error: code, ErrorDescription: description}
	var ok bool
	if b.Message, ok = oidcMessages[code]; !ok {
		b.Message = "An OIDC error occurred: " + b.Code + "."
	}
	if code == "invalid_grant" {
		b.ErrorURI = "https://openid.sh/debug/invalid_grant"
	}
	return b
}

// oidcError writes a JSON OIDC error; invalid_token (userinfo) also gets
// the Bearer challenge oidc-provider sends with its 401.
func (s *Server) oidcError(w http.ResponseWriter, status int, code, description string) {
	if code == "invalid_token" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.issuer+`", error="`+code+`", error_description="`+description+`"`)
	}
	writeJSON(w, status, newOIDCError(code, description))
}

// grantError is the invalid_grant every token-grant failure becomes.
// oidc-provider keeps the reason in error_detail, which Logto does not
// send (error_description is always "grant request is invalid"), so the
// reason only goes to the log.
func (s *Server) grantError(w http.ResponseWriter, detail string) {
	s.log.Info("token request refused", "error", "invalid_grant", "detail", detail)
	s.oidcError(w, http.StatusBadRequest, "invalid_grant", "grant request is invalid")
}

// serverError logs what failed and answers oidc-provider's server_error.
func (s *Server) serverError(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, "err", err)
	s.oidcError(w, http.StatusInternalServerError, "server_error", "oops! something went wrong")
}

// oidcFailure answers a browser-facing OIDC error: JSON for API clients,
// an error page for people.
func (s *Server) oidcFailure(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.oidcError(w, status, code, description)
		return
	}
	s.renderError(w, r, status, code, "Something went wrong", description)
}
