package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"reportgate/internal/access"
	"reportgate/internal/auth"
	"reportgate/internal/fault"
	"reportgate/internal/people"
	"reportgate/internal/provision"
	"reportgate/internal/reqid"
	"reportgate/static"
	"reportgate/views"
)

// pageRenderer renders full pages and is the one place where an error
// becomes a status code and an error view.
type pageRenderer struct {
	assets *static.Assets
	logger *slog.Logger
	out    pageWriter
}

func (p *pageRenderer) page(r *http.Request, title string, who *auth.Identity) views.Page {
	page := views.Page{
		Title:   title,
		CSSURL:  p.assets.URL("app.css"),
		LogoURL: p.assets.URL("logo.svg"),
		Path:    r.URL.Path,
	}
	if who != nil {
		page.User = &views.User{Name: who.Name, Email: who.Email}
	}
	return page
}

// render renders c whole before anything is sent, so a failure half-way
// becomes a 500 rather than a truncated page.
func (p *pageRenderer) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := p.out.buffer()
	defer p.out.release(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		p.renderFailed(w, r, err)
		return
	}
	p.setPageHeaders(w)
	p.out.write(w, r, status, segment{plain: buf.Bytes()})
}

// renderAround sends page's layout around a content rendered once for
// every reader (see sharedBodies).
func (p *pageRenderer) renderAround(w http.ResponseWriter, r *http.Request, status int, page views.Page, body *segment) {
	buf := p.out.buffer()
	defer p.out.release(buf)
	if err := views.LayoutAround(page).Render(r.Context(), buf); err != nil {
		p.renderFailed(w, r, err)
		return
	}
	before, after, ok := bytes.Cut(buf.Bytes(), []byte(views.BodySlot))
	if !ok {
		p.renderFailed(w, r, errors.New("layout has no body slot"))
		return
	}
	p.setPageHeaders(w)
	p.out.write(w, r, status, segment{plain: before, recurring: true}, *body, segment{plain: after, recurring: true})
}

func (p *pageRenderer) setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
}

// renderFailed answers a page that could not be rendered. Plain text: the
// error page is rendered by the same machinery that just failed.
func (p *pageRenderer) renderFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.logger.ErrorContext(r.Context(), "render page", "err", err)
	http.Error(w, "Something went wrong. Please try again.", http.StatusInternalServerError)
}

// fail maps err to a status and a helpful page. Internal details are
// logged, never shown.
func (p *pageRenderer) fail(w http.ResponseWriter, r *http.Request, who *auth.Identity, err error) {
	view := errorView(err)
	view.RequestID = reqid.From(r.Context())
	level := slog.LevelWarn
	switch {
	case view.Status >= 500:
		level = slog.LevelError
	case view.Status == http.StatusTooManyRequests:
		// A flood must not flood the logs too; metrics count every 429.
		level = slog.LevelDebug
	}
	p.logger.Log(r.Context(), level, "request failed", "status", view.Status, "err", err)
	var limited *limitedError
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(limited.retryAfterSeconds()))
	}
	p.render(w, r, view.Status, views.ErrorPage(p.page(r, view.Title, who), view))
}

func (p *pageRenderer) notFound(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusNotFound, views.ErrorPage(p.page(r, "Page not found", nil), views.ErrorView{
		Status:    http.StatusNotFound,
		Title:     "Page not found",
		Message:   "There is nothing at this address. It may have moved, or the link may be mistyped.",
		RequestID: reqid.From(r.Context()),
	}))
}

// inputError is bad input from the person, with a message for them.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func (e *inputError) Unwrap() error { return fault.Invalid }

func badInput(msg string) error { return &inputError{msg: msg} }

// limitedError is a client over its rate limit.
type limitedError struct{ retryAfter time.Duration }

func (e *limitedError) Error() string {
	return fmt.Sprintf("rate limited; retry after %s", e.retryAfter)
}

func (e *limitedError) Unwrap() error { return fault.RateLimited }

// retryAfterSeconds rounds up: a client that waits the whole seconds it is
// told must find a token.
func (e *limitedError) retryAfterSeconds() int {
	return max(1, int((e.retryAfter+time.Second-1)/time.Second))
}

// errUpstream marks a failure of Permit's API (a role change that could not
// be made).
var errUpstream = fmt.Errorf("permission service %w", fault.Unavailable)

func unavailable(err error) error { return fmt.Errorf("%w: %w", errUpstream, err) }

// statusOf is the one table from a kind of failure to its status code. The
// first kind err wraps wins; an error of no kind is a 500.
func statusOf(err error) int {
	for _, row := range [...]struct {
		kind   fault.Kind
		status int
	}{
		{fault.RateLimited, http.StatusTooManyRequests},
		{fault.Invalid, http.StatusBadRequest},
		{fault.Refused, http.StatusForbidden},
		{fault.NotFound, http.StatusNotFound},
		{fault.Conflict, http.StatusConflict},
		{fault.Unavailable, http.StatusBadGateway},
	} {
		if errors.Is(err, row.kind) {
			return row.status
		}
	}
	return http.StatusInternalServerError
}

// errorView picks the page that explains err; statusOf decides its status.
func errorView(err error) views.ErrorView {
	v := errorPage(err)
	v.Status = statusOf(err)
	return v
}

func errorPage(err error) views.ErrorView {
	var denied *auth.CallbackError
	var input *inputError
	var limited *limitedError
	if v, ok := errorViewOfAccess(err); ok {
		return v
	}
	switch {
	case errors.As(err, &limited):
		return views.ErrorView{
			Title:   "Too many requests",
			Message: "This address sent too many requests in a short time. Wait a moment, then try again.",
		}
	case errors.As(err, &input):
		return views.ErrorView{Title: "That did not work", Message: input.msg}
	case errors.Is(err, people.ErrNotFound):
		return views.ErrorView{Title: "Not found", Message: "There is no such person or item."}
	case errors.Is(err, provision.ErrJobNotFound):
		return views.ErrorView{
			Title:   "No such sync job",
			Message: "There is no sync job with that number. Finished jobs are removed after a while; the User sync page lists the current ones.",
			Action:  &views.Link{Href: "/admin/sync", Label: "Back to User sync"},
		}
	case errors.Is(err, errUpstream):
		return views.ErrorView{
			Title:   "Permit.io did not accept the change",
			Message: "The permission service could not be reached or refused the change. Nothing was changed; please try again.",
		}
	case errors.As(err, &denied):
		return views.ErrorView{
			Title:   "Sign-in did not complete",
			Message: "The sign-in service reported a problem (" + denied.Code + "). Please try again.",
			Action:  &views.Link{Href: "/sign-in", Label: "Try signing in again"},
		}
	case errors.Is(err, auth.ErrBadCallback):
		return views.ErrorView{
			Title:   "This sign-in link is no longer valid",
			Message: "It was already used, has expired, or was started in another browser window. Start a fresh sign-in.",
			Action:  &views.Link{Href: "/sign-in", Label: "Sign in"},
		}
	case errors.Is(err, auth.ErrUnavailable):
		return views.ErrorView{
			Title:   "The sign-in service is not answering",
			Message: "We could not reach Logto, which handles sign-in. Please try again in a minute.",
			Action:  &views.Link{Href: "/", Label: "Back to home"},
		}
	case errors.Is(err, errCrossOrigin):
		return views.ErrorView{
			Title:   "Request refused",
			Message: "This form was sent from another site, so it was not accepted. Use the buttons on reportgate itself.",
		}
	default:
		return views.ErrorView{
			Title:   "Something went wrong",
			Message: "An unexpected error stopped this page. It has been logged; please try again.",
		}
	}
}

// errorViewOfAccess maps the access package's errors to their pages.
func errorViewOfAccess(err error) (views.ErrorView, bool) {
	back := &views.Link{Href: "/admin/requests", Label: "Back to access requests"}
	switch {
	case errors.Is(err, access.ErrNotOpen):
		return views.ErrorView{Title: "This request is no longer open",
			Message: "It was already approved, declined or withdrawn, so nothing was changed.", Action: back}, true
	case errors.Is(err, access.ErrNotFound):
		return views.ErrorView{Title: "No such access request",
			Message: "There is no access request with that number.", Action: back}, true
	case errors.Is(err, access.ErrNotRequestable):
		return views.ErrorView{Title: "That did not work",
			Message: "This permission cannot be requested here; ask an administrator directly."}, true
	case errors.Is(err, access.ErrReasonTooLong):
		return views.ErrorView{Title: "That did not work",
			Message: "Please keep the text to 500 characters or fewer."}, true
	case errors.Is(err, access.ErrWrongRole):
		return views.ErrorView{Title: "That role does not fit",
			Message: "The role you chose does not grant the permission asked for. Pick one of the roles offered.", Action: back}, true
	case errors.Is(err, access.ErrRateLimited):
		return views.ErrorView{Title: "Too many access requests",
			Message: "You asked for access 5 times in the last 24 hours. Wait for an admin to answer, or try again tomorrow."}, true
	case errors.Is(err, access.ErrTooSoon):
		return views.ErrorView{Title: "Not yet",
			Message: "Your last request for this was declined less than 24 hours ago. You may ask again after that."}, true
	}
	return views.ErrorView{}, false
}
