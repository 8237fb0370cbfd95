package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// PDP endpoints of the SDK's enforcement calls. Only these are
// checked by pdpTransport; everything else (the REST API under /v2, which
// the SDK sends through the same http.Client) passes through untouched.
const (
	pathAllowed         = "/allowed"
	pathBulk            = "/allowed/bulk"
	pathUserPermissions = "/user-permissions"
	pathAllTenants      = "/allowed/all-tenants"
)

// maxReplyBytes bounds how much of a PDP reply is buffered. A decision reply
// is a few hundred bytes; anything near this is not a decision.
const maxReplyBytes = 1 << 20

// errNoDecision is the cause when a PDP answers 200 with JSON that carries no
// decision, which the SDK would decode as allow=false.
var errNoDecision = errors.New("reply carries no decision")

// StatusError is the cause of ErrUnavailable when the PDP answered with a
// status other than 200. Callers may inspect it with errors.As, e.g. to
// answer 503 with Retry-After on a 429.
type StatusError struct {
	Path       string // PDP path, e.g. "/allowed"
	StatusCode int
	Body       string // first bytes of the reply, for logs; never show it to users
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pdp %s answered %d: %s", e.Path, e.StatusCode, e.Body)
}

// pdpTransport makes the SDK fail closed. permit-golang v1.2.8 treats any
// PDP status its handler does not list (400, 429, 3xx, …) as success and
// decodes the body, so Check returns (false, nil) — a silent deny that is
// really a rate limit or a bad request. Turning
// every non-200 PDP reply, and every 200 whose body is not a decision, into
// a transport error makes the SDK return an error instead, which the Checker
// maps to ErrUnavailable.
//
// The body is buffered here, inside RoundTrip, so that a stall while reading
// it is still bounded by the http.Client's deadline and surfaces as an error
// we can record (the SDK never closes PDP response bodies).
type pdpTransport struct {
	base   http.RoundTripper
	scheme string
	host   string
	prefix string // path prefix of the PDP URL, without trailing slash
}

// pdpPath reports which PDP endpoint u addresses, or "" for anything else.
func (t *pdpTransport) pdpPath(u *url.URL) string {
	if u.Scheme != t.scheme || u.Host != t.host {
		return ""
	}
	p, ok := strings.CutPrefix(u.Path, t.prefix)
	if !ok {
		return ""
	}
	switch p {
	case pathAllowed, pathBulk, pathUserPermissions, pathAllTenants:
		return p
	}
	return ""
}

func (t *pdpTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	path := t.pdpPath(req.URL)
	res, err := t.base.RoundTrip(req)
	if path == "" || err != nil {
		return res, err
	}
	body, readErr := io.ReadAll(io.LimitReader(res.Body, maxReplyBytes+1))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &StatusError{Path: path, StatusCode: res.StatusCode, Body: snippet(body)}
	}
	if readErr != nil {
		return nil, fmt.Errorf("read pdp %s reply: %w", path, readErr)
	}
	if len(body) > maxReplyBytes {
		return nil, fmt.Errorf("pdp %s reply exceeds %d bytes", path, maxReplyBytes)
	}
	if err := validReply(path, body); err != nil {
		return nil, fmt.Errorf("pdp %s: %w", path, err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	return res, nil
}

// validReply checks that a 200 body holds a decision of the shape the SDK
// decodes. A missing "allow" would otherwise decode as false.
func validReply(path string, body []byte) error {
	switch path {
	case pathAllowed:
		var r struct {
			Allow *bool `json:"allow"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if r.Allow == nil {
			return errNoDecision
		}
	case pathBulk:
		var r struct {
			Allow *[]struct {
				Allow *bool `json:"allow"`
			} `json:"allow"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if r.Allow == nil {
			return errNoDecision
		}
		for _, d := range *r.Allow {
			if d.Allow == nil {
				return errNoDecision
			}
		}
	default:
		var r map[string]json.RawMessage
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if r == nil {
			return errNoDecision
		}
	}
	return nil
}

func snippet(b []byte) string {
	const n = 256
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// recorder wraps pdpTransport for one SDK call. The SDK flattens transport
// errors into a message string (errors.NewPermitUnexpectedError keeps only
// err.Error()), so the typed cause — a *StatusError, a
// context.DeadlineExceeded, a syscall.ECONNREFUSED — is kept here and wrapped
// into the ErrUnavailable the caller sees.
type recorder struct {
	next  *pdpTransport
	stats *counters

	mu  sync.Mutex
	err error // first failure of this call
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.stats.countCall(r.next.pdpPath(req.URL))
	res, err := r.next.RoundTrip(req)
	if err != nil {
		cause := err
		// http.Client.Timeout cancels a RoundTripper it does not know (like
		// this one) through a timer of its own, and net/http then reports
		// only "request canceled". That timer fires at the request's
		// context deadline, so a passed deadline means the PDP was too slow:
		// say so in the cause.
		if dl, ok := req.Context().Deadline(); ok && !time.Now().Before(dl) && !errors.Is(err, context.DeadlineExceeded) {
			cause = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		r.mu.Lock()
		if r.err == nil {
			r.err = cause
		}
		r.mu.Unlock()
	}
	return res, err
}

func (r *recorder) cause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
