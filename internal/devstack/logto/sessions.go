package logto

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Cookie names as oidc-provider uses them.
const (
	sessionCookie     = "_session"
	interactionCookie = "_interaction"
)

// session is a Logto (SSO) session: the browser is signed in to Logto.
type session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// logoutRequest is an end-session request awaiting its confirm POST.
type logoutRequest struct {
	PostLogoutRedirectURI string
	State                 string
	ExpiresAt             time.Time
}

// currentSession returns the browser's live Logto session for an
// existing, unsuspended user, or nil.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.st.sessions.m[c.Value]
	if !ok || !s.now().Before(sess.ExpiresAt) {
		return nil
	}
	a, ok := s.st.accounts.m[sess.UserID]
	if !ok || a.IsSuspended {
		return nil
	}
	return sess
}

// startSession signs the browser in to Logto for 14 days, Logto's default.
func (s *Server) startSession(w http.ResponseWriter, userID string) *session {
	sess := &session{ID: randomString(urlAlphabet, 21), UserID: userID, ExpiresAt: s.now().Add(sessionTTL)}
	s.mu.Lock()
	s.st.sessions.set(sess.ID, sess)
	s.persist()
	s.mu.Unlock()
	// SameSite=Lax: the cookie must come along on the top-level redirect
	// from the app to /oidc/auth.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.ID, Path: "/",
		MaxAge: int(sessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess
}

// endSession is GET/POST /oidc/session/end: it answers
// with Logto's page that auto-submits the confirm form.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	q := requestParams(r)
	post := q.Get("post_logout_redirect_uri")
	if post != "" {
		app, ok := s.apps[q.Get("client_id")]
		if !ok {
			app, ok = s.apps[s.audienceOf(q.Get("id_token_hint"))]
		}
		if !ok || !slices.Contains(app.PostLogoutRedirectURIs, post) {
			s.oidcFailure(w, r, http.StatusBadRequest, "invalid_request", "post_logout_redirect_uri not registered")
			return
		}
	}
	xsrf := opaqueToken()
	s.mu.Lock()
	s.st.logouts[xsrf] = &logoutRequest{PostLogoutRedirectURI: post, State: q.Get("state"), ExpiresAt: s.now().Add(interactionTTL)}
	s.mu.Unlock()
	s.render(w, r, http.StatusOK, logoutPage(s.view("Signing out"), logoutView{
		Action: s.issuer + "/session/end/confirm", XSRF: xsrf}))
}

// confirmEndSession destroys the Logto session and returns to the app.
// Grants with offline_access survive: their refresh tokens keep working
// (end-session does not revoke them); grants without it end with the session.
func (s *Server) confirmEndSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.oidcFailure(w, r, http.StatusBadRequest, "invalid_request", "invalid form body")
		return
	}
	s.mu.Lock()
	req, ok := s.st.logouts[r.PostForm.Get("xsrf")]
	delete(s.st.logouts, r.PostForm.Get("xsrf"))
	if ok && r.PostForm.Get("logout") != "" {
		if c, err := r.Cookie(sessionCookie); err == nil {
			s.st.sessions.del(c.Value)
			for id, g := range s.st.grants.m {
				if g.SessionID == c.Value && !g.offline() {
					s.st.revokeGrant(id)
				}
			}
			s.persist()
		}
	}
	s.mu.Unlock()
	if !ok {
		s.oidcFailure(w, r, http.StatusBadRequest, "invalid_request", "xsrf token invalid")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
	if req.PostLogoutRedirectURI == "" {
		s.render(w, r, http.StatusOK, messagePage(s.view("Signed out"), messageView{
			Heading: "You are signed out", Text: "You have been signed out of Logto. You can close this page."}))
		return
	}
	target := req.PostLogoutRedirectURI
	if req.State != "" {
		target = appendQuery(target, url.Values{"state": {req.State}})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
