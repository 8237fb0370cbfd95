package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"reportgate/internal/auth"
	"reportgate/internal/fault"
	"reportgate/internal/session"
)

type authHandler struct {
	auth     Authenticator
	sessions SessionStore
	pages    *pageRenderer
	people   People
	logger   *slog.Logger
}

func (h *authHandler) signIn(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, auth.SignInOptions{})
}

func (h *authHandler) signUp(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, auth.SignInOptions{Register: true})
}

// start sends the browser to Logto. The sign-in in progress (the SDK's
// state and PKCE verifier, and where to come back to) goes into a sealed
// cookie, so an anonymous visitor creates nothing on the server.
func (h *authHandler) start(w http.ResponseWriter, r *http.Request, opts auth.SignInOptions) {
	returnTo := "/"
	// A query too long to hold a return_to under the cap is not worth
	// unescaping (a percent-escape is 3 bytes for 1).
	if len(r.URL.RawQuery) <= 3*maxReturnTo+len("return_to=") {
		returnTo = returnTarget(r.URL.Query().Get("return_to"))
	}
	if h.sendSignedInTo(w, r, returnTo) {
		return
	}
	items := itemStorage{}
	target, err := h.auth.SignInURL(r.Context(), items, opts)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	u, err := url.Parse(target)
	if err != nil || u.Query().Get("state") == "" {
		h.pages.fail(w, r, nil, fmt.Errorf("sign-in URL without state: %q", target))
		return
	}
	pending := session.PendingSignIn{State: u.Query().Get("state"), Items: items, ReturnTo: returnTo, SignUp: opts.Register}
	if err := h.sessions.AddPendingSignIn(w, r, pending); err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// callback finishes the sign-in the callback's state names. The pending
// sign-in is taken (removed from its cookie) first, so it is used once
// whatever happens next; the session row is created only on success.
func (h *authHandler) callback(w http.ResponseWriter, r *http.Request) {
	pending, err := h.sessions.TakePendingSignIn(w, r, r.URL.Query().Get("state"))
	if err != nil {
		h.staleCallback(w, r, err)
		return
	}
	items := itemStorage{}
	maps.Copy(items, pending.Items)
	who, err := h.auth.HandleCallback(r.Context(), items, r.URL.RequestURI())
	var callbackErr *auth.CallbackError
	if errors.As(err, &callbackErr) && callbackErr.Code == "access_denied" {
		h.cancelled(w, r, pending)
		return
	}
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	sess, err := h.sessions.Get(r, sessionName)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	// A fresh sign-in starts from nothing: no value of an earlier session
	// in this browser (another person's tokens) carries over.
	clear(sess.Values)
	for k, v := range items {
		sess.Values[k] = v
	}
	sess.Values[sessionUserKey] = who.Subject
	// A new session id at sign-in: an id planted before sign-in (fixation)
	// never becomes a signed-in session.
	if err := h.sessions.Renew(r, w, sess); err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	if err := h.people.SignedIn(r.Context(), who); err != nil {
		// The person is signed in; recording them is retried at next sign-in.
		h.logger.ErrorContext(r.Context(), "after sign-in", "user", who.Subject, "err", err)
	}
	h.logger.InfoContext(r.Context(), "signed in", "user", who.Subject)
	// Checked again: the cookie is sealed, but the check is cheap and keeps
	// the open-redirect guard independent of the sealing.
	http.Redirect(w, r, returnTarget(pending.ReturnTo), http.StatusSeeOther)
}

// staleCallback answers a callback whose sign-in is not pending in this
// browser (Back or a reload replaying it, or an old link). Someone signed
// in goes home; anyone else gets a page that explains, never another
// redirect into the sign-in, which could loop.
func (h *authHandler) staleCallback(w http.ResponseWriter, r *http.Request, cause error) {
	if h.sendSignedInTo(w, r, "/") {
		return
	}
	h.pages.fail(w, r, nil, fmt.Errorf("%w: %w", auth.ErrBadCallback, cause))
}

// cancelled answers a sign-in or sign-up the person cancelled at Logto:
// back to where they were when that page is open to everyone (else home),
// with a notice. Nothing went wrong, so there is no error page.
func (h *authHandler) cancelled(w http.ResponseWriter, r *http.Request, pending session.PendingSignIn) {
	notice := "Sign-in cancelled."
	if pending.SignUp {
		notice = "Sign-up cancelled."
	}
	if err := h.sessions.SetNotice(w, notice); err != nil {
		h.logger.WarnContext(r.Context(), "leave notice", "err", err)
	}
	target := returnTarget(pending.ReturnTo)
	if !public(target) {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// public reports whether the page at target (a local path) is shown to
// people who are not signed in.
func public(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Path == "/"
}

func (h *authHandler) signOut(w http.ResponseWriter, r *http.Request) {
	sess, err := h.sessions.Get(r, sessionName)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	user := stringValue(sess.Values[sessionUserKey])
	endSession, signOutErr := h.auth.SignOut(r.Context(), logtoStorage{sess})
	if err := h.sessions.Destroy(r, w, sess); err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	if signOutErr != nil {
		// Signed out here either way; Logto's session may outlive this one.
		h.logger.WarnContext(r.Context(), "sign-out at Logto incomplete", "user", user, "err", signOutErr)
	}
	if endSession == "" {
		endSession = "/"
	}
	h.logger.InfoContext(r.Context(), "signed out", "user", user)
	http.Redirect(w, r, endSession, http.StatusSeeOther)
}

// maxReturnTo bounds return_to: it travels in the pending sign-in cookie,
// which must stay under browsers' 4 KB per-cookie limit.
const maxReturnTo = 2048

// returnTarget is where to go after sign-in: a local path of at most
// maxReturnTo bytes, else "/".
func returnTarget(raw string) string {
	if len(raw) > maxReturnTo {
		return "/"
	}
	if p := localPath(raw); len(p) <= maxReturnTo {
		return p
	}
	return "/"
}

// localPath accepts only a path on this site as a post-sign-in target, so
// /sign-in?return_to=https://evil.example cannot be used as an open
// redirect. Anything else becomes "/".
func localPath(raw string) string {
	if raw == "" || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") ||
		strings.ContainsAny(raw, "\\\r\n\t") || strings.HasPrefix(raw, "/%2f") || strings.HasPrefix(raw, "/%2F") {
		return "/"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// Never bounce back into the sign-in machinery.
	switch u.Path {
	case "/sign-in", "/sign-up", "/callback", "/sign-out":
		return "/"
	}
	return u.RequestURI()
}

func stringValue(v any) string {
	s, _ := v.(string)
	return s
}

var errCrossOrigin = fmt.Errorf("cross-origin request %w", fault.Refused)

// sendSignedInTo redirects a person who is already signed in to target and
// reports whether it answered (a failure is answered with the error page).
// Their session is saved: finding them may have refreshed (rotated) their
// tokens.
func (h *authHandler) sendSignedInTo(w http.ResponseWriter, r *http.Request, target string) bool {
	sess, err := h.sessions.Get(r, sessionName)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return true
	}
	if _, err := h.auth.CurrentUser(r.Context(), logtoStorage{sess}); err != nil {
		return false
	}
	if err := sess.Save(r, w); err != nil {
		h.pages.fail(w, r, nil, err)
		return true
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return true
}
