// Package fault holds the kinds of failure that decide how a caller
// answers: retry later, show "not found", ask for other input. Each
// package keeps its own errors and messages and wraps one of these kinds
// with %w, so errors.Is(err, fault.Unavailable) holds whichever service
// failed, and handlers map kinds to status codes in one table.
package fault

// Kind is a kind of failure. Kinds are constants, so no package can
// reassign one, and errors.Is matches them by value.
type Kind string

// Error makes a Kind wrappable with %w; the text reads as the tail of a
// message such as "logto unavailable".
func (k Kind) Error() string { return string(k) }

const (
	// Unavailable: a service we depend on could not be reached or answered
	// unexpectedly; worth retrying later.
	Unavailable Kind = "unavailable"
	// NotFound: the thing asked for does not exist.
	NotFound Kind = "not found"
	// Conflict: the thing is no longer in a state that allows the change.
	Conflict Kind = "conflict"
	// Invalid: the input cannot be accepted as it is.
	Invalid Kind = "invalid"
	// RateLimited: too many attempts in a window; try again later.
	RateLimited Kind = "rate limited"
	// Refused: the request is not allowed, whoever sends it.
	Refused Kind = "refused"
)
