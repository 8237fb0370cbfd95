package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"reportgate/internal/auth"
)

type authHandler struct {
	auth     Authenticator
	sessions SessionStore
	pages    *pageRenderer
	onSignIn func(ctx context.Context, who auth.Identity) error
	logger   *slog.Logger
}

func (h *authHandler) signIn(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, auth.SignInOptions{})
}

func (h *authHandler) signUp(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, auth.SignInOptions{Register: true})
}

// start sends the browser to Logto, remembering where to come back to.
func (h *authHandler) start(w http.ResponseWriter, r *http.Request, opts auth.SignInOptions) {
	returnTo := localPath(r.URL.Query().Get("return_to"))
	sess, err := h.sessions.Get(r, sessionName)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	storage := logtoStorage{sess}
	if _, err := h.auth.CurrentUser(r.Context(), storage); err == nil {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	target, err := h.auth.SignInURL(r.Context(), storage, opts)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	sess.Values[returnToKey] = returnTo
	if err := sess.Save(r, w); err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *authHandler) callback(w http.ResponseWriter, r *http.Request) {
	sess, err := h.sessions.Get(r, sessionName)
	if err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	who, err := h.auth.HandleCallback(r.Context(), logtoStorage{sess}, r.URL.RequestURI())
	if err != nil {
		// Persist the cleared sign-in attempt so the callback cannot be replayed.
		if saveErr := sess.Save(r, w); saveErr != nil {
			h.logger.ErrorContext(r.Context(), "save session", "err", saveErr)
		}
		h.pages.fail(w, r, nil, err)
		return
	}
	returnTo := localPath(stringValue(sess.Values[returnToKey]))
	delete(sess.Values, returnToKey)
	sess.Values[sessionUserKey] = who.Subject
	// A new session id at sign-in: an id planted before sign-in (fixation)
	// never becomes a signed-in session.
	if err := h.sessions.Renew(r, w, sess); err != nil {
		h.pages.fail(w, r, nil, err)
		return
	}
	if err := h.onSignIn(r.Context(), who); err != nil {
		// The person is signed in; recording them is retried at next sign-in.
		h.logger.ErrorContext(r.Context(), "after sign-in", "user", who.Subject, "err", err)
	}
	h.logger.InfoContext(r.Context(), "signed in", "user", who.Subject)
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
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

var errCrossOrigin = errors.New("cross-origin request refused")
