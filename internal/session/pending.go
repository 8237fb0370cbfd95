package session

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// PendingSignIn is a sign-in started in this browser and not finished yet.
type PendingSignIn struct {
	// State is the OAuth state sent to Logto; the callback names its
	// sign-in by it.
	State string
	// Items are what the Logto SDK stored while starting the sign-in
	// (state, PKCE verifier, redirect URI).
	Items map[string]string
	// ReturnTo is where to go after sign-in. It comes back from the
	// browser, so callers check it again after TakePendingSignIn.
	ReturnTo string
	// SignUp records that the person asked to create an account, so the
	// callback can word its answer (a cancelled sign-up is not a
	// cancelled sign-in).
	SignUp bool
}

const (
	// PendingTTL is how long a started sign-in can be finished.
	PendingTTL = 10 * time.Minute
	// MaxPending is how many sign-ins one browser may have in progress
	// (tabs); starting another drops the oldest.
	MaxPending = 3
	// maxPendingCookie bounds the cookie value below browsers' 4 KB
	// per-cookie limit, past which the cookie would be silently dropped.
	maxPendingCookie = 3800
)

// ErrNoPendingSignIn means the browser presented no open, unexpired
// pending sign-in with the callback's state: never started here, already
// finished, expired, forged, or dropped for newer ones.
var ErrNoPendingSignIn = errors.New("no sign-in in progress in this browser")

// pendingEntry is one PendingSignIn as sealed in the cookie.
type pendingEntry struct {
	State    string            `json:"s"`
	Items    map[string]string `json:"i,omitempty"`
	ReturnTo string            `json:"r,omitempty"`
	SignUp   bool              `json:"u,omitempty"`
	Expires  int64             `json:"e"` // unix ms
}

// AddPendingSignIn records p in the browser's sealed pending-sign-in
// cookie, next to at most MaxPending-1 others still unexpired. Nothing is
// written server-side.
func (s *Store) AddPendingSignIn(w http.ResponseWriter, r *http.Request, p PendingSignIn) error {
	if p.State == "" {
		return errors.New("session: pending sign-in without state")
	}
	now := s.opts.Now()
	entries, _ := s.pendingEntries(r, now)
	entries = append(entries, pendingEntry{State: p.State, Items: p.Items, ReturnTo: p.ReturnTo,
		SignUp: p.SignUp, Expires: now.Add(PendingTTL).UnixMilli()})
	if len(entries) > MaxPending {
		entries = entries[len(entries)-MaxPending:]
	}
	for {
		payload, err := encodePending(entries)
		if err != nil {
			return err
		}
		// The sealed value is 1+28+8 bytes longer than payload, in base64.
		if size := (len(payload) + 37) * 4 / 3; size > maxPendingCookie {
			switch {
			case len(entries) > 1:
				entries = entries[1:] // the oldest tab gives way
			case entries[0].ReturnTo != "/":
				// Still too large (return_to bytes JSON writes as escapes):
				// the visitor signs in and lands on the home page instead.
				entries[0].ReturnTo = "/"
			default:
				return fmt.Errorf("session: pending sign-in of %d bytes does not fit in a cookie", size)
			}
			continue
		}
		s.pending.set(w, payload, now, time.UnixMilli(entries[len(entries)-1].Expires))
		return nil
	}
}

// TakePendingSignIn removes and returns the pending sign-in whose state is
// state; each is used once. The cookie is rewritten without it while other
// tabs' sign-ins remain, and deleted otherwise: when nothing else is
// pending, and when no entry matches (a replay, a forgery, a cookie
// tampered with, sealed under an unknown secret or expired), in which case
// the other tabs start again.
func (s *Store) TakePendingSignIn(w http.ResponseWriter, r *http.Request, state string) (PendingSignIn, error) {
	now := s.opts.Now()
	entries, present := s.pendingEntries(r, now)
	i := slices.IndexFunc(entries, func(e pendingEntry) bool {
		return state != "" && subtle.ConstantTimeCompare([]byte(e.State), []byte(state)) == 1
	})
	if i < 0 {
		if present {
			s.pending.expire(w)
		}
		return PendingSignIn{}, ErrNoPendingSignIn
	}
	found := entries[i]
	rest := slices.Delete(entries, i, i+1)
	if len(rest) == 0 {
		s.pending.expire(w)
	} else {
		payload, err := encodePending(rest)
		if err != nil {
			return PendingSignIn{}, err
		}
		s.pending.set(w, payload, now, time.UnixMilli(rest[len(rest)-1].Expires))
	}
	return PendingSignIn{State: found.State, Items: found.Items, ReturnTo: found.ReturnTo, SignUp: found.SignUp}, nil
}

// encodePending encodes entries as JSON without HTML escaping: the payload
// is sealed, never put in a page, and escaping would write each '&', '<'
// and '>' of a return_to as 6 bytes, so a return_to within the handlers'
// cap could overflow the cookie.
func encodePending(entries []pendingEntry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(entries); err != nil {
		return nil, fmt.Errorf("session: encode pending sign-in: %w", err)
	}
	// Encode ends the value with a newline, which Marshal does not.
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// pendingEntries returns the unexpired entries of the request's pending
// cookie, oldest first; present reports whether there was a cookie.
func (s *Store) pendingEntries(r *http.Request, now time.Time) (entries []pendingEntry, present bool) {
	payload, present, ok := s.pending.read(r, now)
	if !ok || json.Unmarshal(payload, &entries) != nil {
		return nil, present
	}
	live := entries[:0]
	for _, e := range entries {
		if now.UnixMilli() <= e.Expires {
			live = append(live, e)
		}
	}
	return live, present
}
