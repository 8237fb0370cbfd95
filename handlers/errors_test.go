package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"reportgate/internal/access"
	"reportgate/internal/auth"
	"reportgate/internal/authz"
	"reportgate/internal/fault"
	"reportgate/internal/people"
	"reportgate/internal/provision"
)

// TestErrorStatusAndPage pins each error the handlers show to its status
// (from the kind table) and its page title, wrapped as callers wrap them.
func TestErrorStatusAndPage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		title  string
	}{
		{&limitedError{retryAfter: time.Second}, http.StatusTooManyRequests, "Too many requests"},
		{badInput("Unknown role x."), http.StatusBadRequest, "That did not work"},
		{fmt.Errorf("get person: %w", people.ErrNotFound), http.StatusNotFound, "Not found"},
		{fmt.Errorf("retry: %w", provision.ErrJobNotFound), http.StatusNotFound, "No such sync job"},
		{unavailable(errors.New("permit: 503")), http.StatusBadGateway, "Permit.io did not accept the change"},
		{&auth.CallbackError{Code: "access_denied"}, http.StatusBadRequest, "Sign-in did not complete"},
		{fmt.Errorf("%w: state mismatch", auth.ErrBadCallback), http.StatusBadRequest, "This sign-in link is no longer valid"},
		{fmt.Errorf("discovery: %w: refused", auth.ErrUnavailable), http.StatusBadGateway, "The sign-in service is not answering"},
		{errCrossOrigin, http.StatusForbidden, "Request refused"},
		{access.ErrNotOpen, http.StatusConflict, "This request is no longer open"},
		{access.ErrNotFound, http.StatusNotFound, "No such access request"},
		{access.ErrNotRequestable, http.StatusBadRequest, "That did not work"},
		{access.ErrReasonTooLong, http.StatusBadRequest, "That did not work"},
		{access.ErrWrongRole, http.StatusBadRequest, "That role does not fit"},
		{access.ErrRateLimited, http.StatusTooManyRequests, "Too many access requests"},
		{access.ErrTooSoon, http.StatusTooManyRequests, "Not yet"},
		{errors.New("boom"), http.StatusInternalServerError, "Something went wrong"},
		// An unavailable service with no page of its own still says so.
		{fmt.Errorf("pdp: %w", authz.ErrUnavailable), http.StatusBadGateway, "Something went wrong"},
		{fmt.Errorf("x: %w", fault.Unavailable), http.StatusBadGateway, "Something went wrong"},
	} {
		v := errorView(tc.err)
		if v.Status != tc.status || v.Title != tc.title {
			t.Errorf("%v: %d %q, want %d %q", tc.err, v.Status, v.Title, tc.status, tc.title)
		}
	}
}
