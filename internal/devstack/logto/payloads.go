package logto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Builders for Logto's webhook payloads, key for key in Logto's order
// (libraries/hook/index.ts, utils.ts). hookId is
// appended last at send time, as sendWebhook does ({...payload, hookId}).

// isoMillis formats like JS Date.toISOString().
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// applicationObject is pick(application, 'id', 'type', 'name', 'description').
func (s *Server) applicationObject(clientID string) any {
	app, ok := s.apps[clientID]
	if !ok {
		return omitted{}
	}
	return object{{"id", app.ID}, {"type", app.Type}, {"name", app.Name}, {"description", nil}}
}

// interactionPayload is PostRegister / PostSignIn: note userIp here but
// ip in data hooks, and user, not data.
func (s *Server) interactionPayload(event, interactionEvent string, r *http.Request, in *interaction, u User) object {
	return object{
		{"event", event},
		{"interactionEvent", interactionEvent},
		{"createdAt", isoMillis(s.now())},
		{"sessionId", in.JTI},
		{"userAgent", optional(r.UserAgent())},
		{"userId", u.ID},
		{"userIp", clientIP(r)},
		{"user", u.wire()},
		{"application", s.applicationObject(in.ClientID)},
	}
}

// experienceDataPayload is a data hook fired from the sign-in experience:
// metadata {interactionEvent, userAgent, applicationId, sessionId}, then
// ip, the application object and data — no path/method/status.
func (s *Server) experienceDataPayload(event, interactionEvent string, r *http.Request, in *interaction, data any) object {
	return object{
		{"event", event},
		{"createdAt", isoMillis(s.now())},
		{"interactionEvent", interactionEvent},
		{"userAgent", optional(r.UserAgent())},
		{"applicationId", in.ClientID},
		{"sessionId", in.JTI},
		{"ip", clientIP(r)},
		{"application", s.applicationObject(in.ClientID)},
		{"data", data},
	}
}

// managementContext is what koa-management-api-hooks records of the
// Management API request that caused a data hook.
type managementContext struct {
	userAgent, ip string
	path, method  string
	status        int
	params        object
	matchedRoute  string
}

// managementDataPayload is a data hook from the Management API: the
// caller's userAgent and ip, then path, method, status, params,
// matchedRoute and data.
func managementDataPayload(now time.Time, event string, mc managementContext, data any) object {
	return object{
		{"event", event},
		{"createdAt", isoMillis(now)},
		{"userAgent", optional(mc.userAgent)},
		{"ip", mc.ip},
		{"path", mc.path},
		{"method", mc.method},
		{"status", mc.status},
		{"params", mc.params},
		{"matchedRoute", mc.matchedRoute},
		{"data", data},
	}
}

// testPayload is the console's "send test payload" (generateHookTestPayload
// in current Logto): hookId second, fake ids, and for data events a data
// that is not a user.
func testPayload(hookID, event string, now time.Time) object {
	base := object{{"event", event}, {"hookId", hookID}, {"createdAt", isoMillis(now)}, {"userAgent", "fake-user-agent"}}
	if !isInteractionEvent(event) {
		return base.with(
			member{"path", "/fake-path/:id"},
			member{"method", "POST"},
			member{"status", 200},
			member{"params", object{{"id", "fake-id"}}},
			member{"data", object{{"result", "success"}}},
		)
	}
	ms := now.UnixMilli()
	// The fake user's keys are in the order the test-payload code writes
	// them, which differs from userInfoSelectFields.
	user := object{
		{"id", "fake-id"}, {"username", "fake-user"}, {"primaryEmail", "fake-user@fake-service.com"},
		{"primaryPhone", "1234567890"}, {"name", "Fake User"},
		{"avatar", "https://fake-service.com/avatars/fake-user.png"},
		{"customData", object{{"theme", "light"}}},
		{"identities", object{{"google", object{{"userId", "fake-google-user-id"}}}}},
		{"profile", object{}}, {"applicationId", "fake-application-id"}, {"isSuspended", false},
		{"lastSignInAt", ms}, {"createdAt", ms}, {"updatedAt", ms},
	}
	return base.with(
		member{"sessionId", "fake-session-id"},
		member{"userIp", "fake-user-ip"},
		member{"userId", "fake-id"},
		member{"user", user},
		member{"application", object{{"id", "fake-spa-application-id"}, {"type", "SPA"},
			{"name", "Fake Application"}, {"description", "Fake application data for testing"}}},
	)
}

func isInteractionEvent(event string) bool {
	switch event {
	case "PostRegister", "PostSignIn", "PostResetPassword", "PostSignInAdaptiveMfaTriggered":
		return true
	}
	return false
}

// decodeObject reads a JSON object keeping its key order.
func decodeObject(raw []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	o := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decode object: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("decode object: %w", err)
		}
		o = append(o, member{tok.(string), v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON object")
	}
	return o, nil
}

// set replaces key in place or appends it, like a JS object spread.
func (o object) set(key string, value any) object {
	for i, m := range o {
		if m.key == key {
			out := o.with()
			out[i].value = value
			return out
		}
	}
	return o.with(member{key, value})
}
