package logto

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// The hosted sign-in experience: what Logto's sign-in UI and Experience
// API do between /oidc/auth and the redirect back to the app.

func (s *Server) view(title string) pageView {
	return pageView{Title: title, CSSURL: s.assets.URL("app.css")}
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.log.Error("render page", "err", err)
	}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, code, heading, text string) {
	s.render(w, r, status, messagePage(s.view(heading), messageView{Heading: heading, Text: text, Code: code}))
}

// currentInteraction finds the pending authorization request from the
// form or query (hidden field) or, failing that, the interaction cookie.
func (s *Server) currentInteraction(r *http.Request) *interaction {
	id := r.FormValue("interaction")
	if id == "" {
		if c, err := r.Cookie(interactionCookie); err == nil {
			id = c.Value
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.st.interactions[id]
	if !ok || !s.now().Before(in.ExpiresAt) {
		return nil
	}
	return in
}

// withInteraction serves a hosted-page request that needs a live
// interaction; without one it shows the expired-link page.
func (s *Server) withInteraction(h func(http.ResponseWriter, *http.Request, *interaction)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in := s.currentInteraction(r)
		if in == nil {
			s.renderError(w, r, http.StatusBadRequest, "session.not_found", "This sign-in link has expired",
				"The sign-in request is no longer valid. Go back to the app and start signing in again.")
			return
		}
		h(w, r, in)
	}
}

func pageLinks(in *interaction) (signIn, register, cancel string) {
	q := "?interaction=" + url.QueryEscape(in.ID)
	return "/sign-in" + q, "/register" + q, "/sign-in/cancel" + q
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request, status int, in *interaction, email, msg string) {
	_, register, cancel := pageLinks(in)
	s.render(w, r, status, signInPage(s.view("Sign in"), signInView{
		Interaction: in.ID, Email: email, Error: msg, RegisterURL: register, CancelURL: cancel}))
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request, status int, in *interaction, name, email, msg string) {
	signIn, _, cancel := pageLinks(in)
	s.render(w, r, status, registerPage(s.view("Create account"), registerView{
		Interaction: in.ID, Name: name, Email: email, Error: msg, SignInURL: signIn, CancelURL: cancel}))
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, in *interaction) {
	s.signInForm(w, r, http.StatusOK, in, in.LoginHint, "")
}

func (s *Server) registerPage(w http.ResponseWriter, r *http.Request, in *interaction) {
	s.registerForm(w, r, http.StatusOK, in, "", in.LoginHint, "")
}

func (s *Server) signInSubmit(w http.ResponseWriter, r *http.Request, in *interaction) {
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	if email == "" || password == "" {
		s.signInForm(w, r, http.StatusBadRequest, in, email, "Enter your email and password.")
		return
	}
	u, err := s.authenticate(email, password)
	switch {
	case errors.Is(err, errSuspended):
		s.signInForm(w, r, http.StatusUnauthorized, in, email, "This account has been suspended. Contact your administrator.")
		return
	case err != nil:
		s.signInForm(w, r, http.StatusUnauthorized, in, email, "Wrong email or password")
		return
	}
	// lastSignInAt changes, but that alone fires no User.Data.Updated.
	u = s.touchSignIn(u.ID)
	sess := s.startSession(w, u.ID)
	s.hooks.dispatch("PostSignIn", s.interactionPayload("PostSignIn", "SignIn", r, in, u))
	s.finish(w, r, in, sess)
}

func (s *Server) registerSubmit(w http.ResponseWriter, r *http.Request, in *interaction) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	if !validEmail(email) {
		s.registerForm(w, r, http.StatusBadRequest, in, name, email, "Enter a valid email address.")
		return
	}
	if len([]rune(password)) < minPasswordLength {
		s.registerForm(w, r, http.StatusUnprocessableEntity, in, name, email, "Password must be at least 8 characters")
		return
	}
	u, err := s.createAccount(accountInput{email: email, name: name, password: password, applicationID: in.ClientID})
	switch {
	case errors.Is(err, errEmailInUse):
		s.registerForm(w, r, http.StatusConflict, in, name, email, "An account with this email already exists")
		return
	case err != nil:
		s.log.Error("register", "err", err)
		s.registerForm(w, r, http.StatusInternalServerError, in, name, email, "Something went wrong. Please try again.")
		return
	}
	sess := s.startSession(w, u.ID)
	// Two separate deliveries, sent concurrently with no order guarantee:
	// the experience-origin data hook and the interaction hook.
	s.hooks.dispatch("User.Created", s.experienceDataPayload("User.Created", "Register", r, in, u.wire()))
	s.hooks.dispatch("PostRegister", s.interactionPayload("PostRegister", "Register", r, in, u))
	s.finish(w, r, in, sess)
}

// cancelInteraction returns to the app with access_denied, as Logto does
// when the person aborts the interaction.
func (s *Server) cancelInteraction(w http.ResponseWriter, r *http.Request, in *interaction) {
	s.mu.Lock()
	delete(s.st.interactions, in.ID)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: interactionCookie, Path: "/", MaxAge: -1})
	http.Redirect(w, r, s.callbackURL(in.RedirectURI, url.Values{
		"error": {"access_denied"}, "error_description": {"End-User aborted interaction"}, "state": {in.State},
	}), http.StatusSeeOther)
}

// touchSignIn records a sign-in time and returns the updated user.
func (s *Server) touchSignIn(id string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := *s.st.accounts.m[id] // replaced, not changed in place: a compaction may be writing it
	a.LastSignInAt = s.now().Truncate(time.Millisecond)
	s.st.accounts.set(id, &a)
	s.persist()
	return a.public()
}
