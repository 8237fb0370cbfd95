package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Event names reportgate cares about. Logto sends
// many more; Parse accepts any non-empty name.
const (
	EventPostRegister    = "PostRegister"
	EventPostSignIn      = "PostSignIn"
	EventUserCreated     = "User.Created"
	EventUserDataUpdated = "User.Data.Updated"
	EventUserDeleted     = "User.Deleted"
	EventUserSuspension  = "User.SuspensionStatus.Updated"
)

const (
	// userDataEventPrefix starts the data events whose `data` is about a user.
	userDataEventPrefix = "User."
	// The ids of the console's test payloads; older Logto releases
	// used "fake-user-id" (packages/core/src/libraries/hook/utils.ts before
	// the data-hook test payload existed). Real user ids are 12 characters
	// of [0-9a-z], so the hyphens rule out a collision.
	testFakeID        = "fake-id"
	testFakeOldUserID = "fake-user-id"
	testFakeSessionID = "fake-session-id"
	// maxJSDateMillis is ±100,000,000 days, the range of a JS Date.
	maxJSDateMillis = 8.64e15
)

// User is the part of Logto's user object that
// reportgate reads. Unset strings (null on the wire) are "".
type User struct {
	ID          string
	Username    string
	Email       string    // primaryEmail
	Name        string    // often null for username/password sign-ups
	CreatedAt   time.Time // from epoch milliseconds, UTC; zero if null
	IsSuspended bool
}

// Event is one decoded delivery.
type Event struct {
	// Name is the event as Logto sent it, e.g. "PostRegister" or
	// "User.Data.Updated", or any other event Logto knows.
	Name   string
	HookID string
	// CreatedAt is the payload's dispatch time (ISO-8601 with ms). It is
	// inside the signed body, so a receiver may reject stale deliveries to
	// limit replays (the signature scheme itself has no timestamp or nonce);
	// Parse does not, having no clock.
	CreatedAt time.Time
	// UserID is the user the event is about: `userId` (interaction events),
	// `params.userId` (Management API routes) or `data.id` (data events whose
	// data is a user). Parse rejects payloads where these disagree.
	UserID string
	// User is non-nil only when the payload carries a full user object:
	// `user` in interaction events, or a user-shaped `data` in User.* events.
	User *User
	// Suspended is the new suspension state of a
	// User.SuspensionStatus.Updated event, when data.isSuspended is present.
	Suspended *bool
	// Test marks the console's "send test payload" deliveries. They
	// carry fake ids; never act on them.
	Test bool
	// Partial marks a User.Data.Updated whose data is not a user (the
	// custom-data and profile routes send only that sub-object): the
	// receiver must re-fetch the user by UserID.
	Partial bool
}

// Known reports whether the event is one of the user events reportgate
// understands: PostRegister, PostSignIn, User.Created, User.Data.Updated,
// User.Deleted and User.SuspensionStatus.Updated. PostSignIn is known but
// carries nothing to act on; see Actionable.
func (e Event) Known() bool {
	switch e.Name {
	case EventPostRegister, EventPostSignIn, EventUserCreated,
		EventUserDataUpdated, EventUserDeleted, EventUserSuspension:
		return true
	}
	return false
}

// Actionable reports whether the receiver should do anything with the event:
// a known event other than PostSignIn, and not a test payload. Everything
// else should still be acknowledged with a 2xx, since Logto logs non-2xx as
// a failed delivery and (in ≤1.42.0) never retries it anyway: the webhook
// POST is attempted exactly once.
//
// PostSignIn is ignored on purpose: sign-ins of users who changed fire
// User.Data.Updated, and users created through the Management API never send
// PostRegister but do send User.Created, so User.* alone keeps the
// user set complete.
func (e Event) Actionable() bool {
	return e.Known() && e.Name != EventPostSignIn && !e.Test
}

// object is a decoded JSON object whose values stay raw until read. Decoding
// into a map rather than a struct keeps key matching exact: encoding/json
// matches struct fields case-insensitively, so `"Event"` would otherwise
// count as `"event"`.
type object map[string]json.RawMessage

// Parse decodes a body that Verify has accepted. It reads only the fields
// reportgate needs, checks their types, and ignores everything else. Every
// error wraps ErrMalformed.
func Parse(body []byte) (Event, error) {
	top, err := decodeObject(body)
	if err != nil {
		return Event{}, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	name, err := top.str("event")
	if err != nil {
		return Event{}, malformed(err)
	}
	if name == "" {
		return Event{}, fmt.Errorf("%w: missing event", ErrMalformed)
	}
	e := Event{Name: name}
	if e.HookID, err = top.str("hookId"); err != nil {
		return Event{}, malformed(err)
	}
	created, err := top.str("createdAt")
	if err != nil {
		return Event{}, malformed(err)
	}
	if e.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return Event{}, fmt.Errorf("%w: createdAt: %w", ErrMalformed, err)
	}

	// Interaction events: userId, sessionId and user.
	userID, err := top.str("userId")
	if err != nil {
		return Event{}, malformed(err)
	}
	sessionID, err := top.str("sessionId")
	if err != nil {
		return Event{}, malformed(err)
	}
	if u, ok, err := top.obj("user"); err != nil {
		return Event{}, malformed(err)
	} else if ok {
		if e.User, err = parseUser(u); err != nil {
			return Event{}, fmt.Errorf("%w: user: %w", ErrMalformed, err)
		}
	}

	// Data events: params, matchedRoute and data.
	params, _, err := top.obj("params")
	if err != nil {
		return Event{}, malformed(err)
	}
	paramUserID, err := params.str("userId")
	if err != nil {
		return Event{}, fmt.Errorf("%w: params: %w", ErrMalformed, err)
	}
	paramID, err := params.str("id")
	if err != nil {
		return Event{}, fmt.Errorf("%w: params: %w", ErrMalformed, err)
	}
	route, err := top.str("matchedRoute")
	if err != nil {
		return Event{}, malformed(err)
	}

	// `data` has no fixed type across all events, so a non-object is an
	// error only for the User.* events whose data we read.
	data, hasData, dataErr := top.obj("data")
	e.Test = userID == testFakeID || userID == testFakeOldUserID || paramID == testFakeID ||
		sessionID == testFakeSessionID || (hasData && isTestResult(data))

	if strings.HasPrefix(name, userDataEventPrefix) {
		if dataErr != nil {
			return Event{}, malformed(dataErr)
		}
		if hasData {
			if err := e.readUserData(data, route); err != nil {
				return Event{}, fmt.Errorf("%w: data: %w", ErrMalformed, err)
			}
		}
	}

	// Ids end up in database keys, Permit API paths and the admin pages'
	// URLs; anything not shaped like a Logto id is refused before it is
	// stored, so no later step has to be the one that catches it.
	for _, f := range []struct{ name, id string }{
		{"hookId", e.HookID}, {"userId", userID}, {"sessionId", sessionID},
		{"params.userId", paramUserID}, {"params.id", paramID}, {"user id", e.userObjectID()},
	} {
		if f.id != "" && !ValidID(f.id) {
			return Event{}, fmt.Errorf("%w: %s is not a Logto id", ErrMalformed, f.name)
		}
	}

	// Every place a user id can appear must name the same user; a payload
	// that names two is not something Logto builds, and acting on either
	// could sync the wrong person.
	for _, id := range []string{userID, paramUserID, e.userObjectID()} {
		if id == "" {
			continue
		}
		if e.UserID != "" && e.UserID != id {
			return Event{}, fmt.Errorf("%w: conflicting user ids %q and %q", ErrMalformed, e.UserID, id)
		}
		e.UserID = id
	}
	if e.Known() && e.UserID == "" && !e.Test {
		return Event{}, fmt.Errorf("%w: %s without a user id", ErrMalformed, name)
	}
	return e, nil
}

// readUserData reads `data` of a User.* data event. Its shape depends on the
// route that fired the event: a user (+hasPassword), only customData,
// only profile, or null for User.Deleted before 1.18.0.
func (e *Event) readUserData(data object, route string) error {
	if e.Name == EventUserSuspension {
		var s bool
		switch present, err := data.boolean("isSuspended", &s); {
		case err != nil:
			return err
		case present:
			e.Suspended = &s
		}
	}
	// customData is arbitrary and may well hold an "id" string, so the
	// routes known to send a sub-object are never read as a user, whatever
	// the data looks like.
	subObject := strings.HasSuffix(route, "/custom-data") || strings.HasSuffix(route, "/profile")
	if !subObject && data.isString("id") {
		u, err := parseUser(data)
		if err != nil {
			return err
		}
		e.User = u
		return nil
	}
	e.Partial = e.Name == EventUserDataUpdated && !e.Test
	return nil
}

func (e Event) userObjectID() string {
	if e.User == nil {
		return ""
	}
	return e.User.ID
}

// isTestResult reports whether data is exactly {"result":"success"}, the
// `data` of every data-event test payload.
func isTestResult(data object) bool {
	if len(data) != 1 {
		return false
	}
	s, err := data.str("result")
	return err == nil && s == "success"
}

func parseUser(o object) (*User, error) {
	var u User
	var err error
	if u.ID, err = o.str("id"); err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, fmt.Errorf("missing id")
	}
	if u.Username, err = o.str("username"); err != nil {
		return nil, err
	}
	if u.Email, err = o.str("primaryEmail"); err != nil {
		return nil, err
	}
	if u.Name, err = o.str("name"); err != nil {
		return nil, err
	}
	if u.CreatedAt, err = o.epochMillis("createdAt"); err != nil {
		return nil, err
	}
	if _, err = o.boolean("isSuspended", &u.IsSuspended); err != nil {
		return nil, err
	}
	return &u, nil
}

// maxIDLen bounds an id; Logto's own are 12 to 21 characters.
const maxIDLen = 128

// ValidID reports whether id looks like a Logto id: 1 to maxIDLen letters,
// digits, '_' or '-'. Logto generates its ids from that alphabet, and an id
// so shaped needs no escaping in a URL path or query.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func malformed(err error) error { return fmt.Errorf("%w: %w", ErrMalformed, err) }

func decodeObject(b []byte) (object, error) {
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	if o == nil { // the JSON literal null
		return nil, fmt.Errorf("not an object")
	}
	return o, nil
}

// raw returns the value at key, or nil when it is absent or null: Logto
// keeps null members and omits undefined ones (JSON.stringify), and both
// mean "unset".
func (o object) raw(key string) json.RawMessage {
	v := bytes.TrimSpace(o[key])
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

func (o object) str(key string) (string, error) {
	v := o.raw(key)
	if v == nil {
		return "", nil
	}
	if v[0] != '"' {
		return "", fmt.Errorf("%s: want a string", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

func (o object) isString(key string) bool {
	v := o.raw(key)
	return v != nil && v[0] == '"'
}

// obj returns the object at key; ok is false when it is absent or null.
func (o object) obj(key string) (_ object, ok bool, _ error) {
	v := o.raw(key)
	if v == nil {
		return nil, false, nil
	}
	if v[0] != '{' {
		return nil, false, fmt.Errorf("%s: want an object", key)
	}
	sub, err := decodeObject(v)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	return sub, true, nil
}

func (o object) boolean(key string, dst *bool) (present bool, _ error) {
	switch v := o.raw(key); string(v) {
	case "":
		return false, nil
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return false, fmt.Errorf("%s: want a boolean", key)
	}
	return true, nil
}

// epochMillis reads a user timestamp. They are JSON numbers of epoch
// MILLISECONDS, not the ISO strings the docs claim. JSON.stringify
// writes integers up to 1e21 without exponent, so the integer path is the
// normal one; the float path accepts an integral value written otherwise,
// within the range of a JS Date.
func (o object) epochMillis(key string) (time.Time, error) {
	v := o.raw(key)
	if v == nil {
		return time.Time{}, nil
	}
	var n json.Number
	if v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return time.Time{}, fmt.Errorf("%s: want a number of epoch milliseconds", key)
	}
	ms, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(n.String(), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxJSDateMillis {
			return time.Time{}, fmt.Errorf("%s: %s is not an epoch-milliseconds time", key, n)
		}
		ms = int64(f)
	}
	if math.Abs(float64(ms)) > maxJSDateMillis {
		return time.Time{}, fmt.Errorf("%s: %d is outside the range of a date", key, ms)
	}
	return time.UnixMilli(ms).UTC(), nil
}
