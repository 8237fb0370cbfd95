package webhook_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"reportgate/internal/webhook"
)

var (
	createdAt     = time.Date(2026, 8, 1, 10, 0, 0, 123_000_000, time.UTC)
	userCreatedAt = time.Date(2025, 8, 1, 9, 59, 59, 123_000_000, time.UTC)
)

func aliceUser() *webhook.User {
	return &webhook.User{ID: aliceID, Username: "alice", Email: "alice@example.com", CreatedAt: userCreatedAt}
}

type parseCase struct {
	name string
	body string
	want webhook.Event
}

// parseCases are realistic Logto payloads, real deliveries and console test
// payloads; the fuzz test seeds its corpus with them too.
func parseCases() []parseCase {
	base := func(name string) webhook.Event {
		return webhook.Event{Name: name, HookID: hookID, CreatedAt: createdAt, UserID: aliceID}
	}
	with := func(e webhook.Event, f func(*webhook.Event)) webhook.Event { f(&e); return e }

	userParams := `{"userId":"` + aliceID + `"}`
	suspended := func(s bool) userFields {
		u := alice()
		u.suspended, u.hasPassword = s, ptr(true)
		return u
	}
	withPassword := alice()
	withPassword.hasPassword = ptr(true)
	named := alice()
	named.name = ptr("Alice Liddell")

	testUser := &webhook.User{ID: "fake-id", Username: "fake-user", Email: "fake-user@fake-service.com",
		Name: "Fake User", CreatedAt: userCreatedAt}

	return []parseCase{
		{"PostRegister with user", interaction("PostRegister", "Register", userJSON(alice())),
			with(base("PostRegister"), func(e *webhook.Event) { e.User = aliceUser() })},
		{"PostRegister without user", interaction("PostRegister", "Register", ""), base("PostRegister")},
		{"PostRegister social with name and details", typicalPostRegister(),
			with(base("PostRegister"), func(e *webhook.Event) {
				e.User = aliceUser()
				e.User.Name = "Alice <Liddell> & Co"
			})},
		{"PostSignIn", interaction("PostSignIn", "SignIn", userJSON(named)),
			with(base("PostSignIn"), func(e *webhook.Event) {
				e.User = aliceUser()
				e.User.Name = "Alice Liddell"
			})},
		{"User.Created via Management API", managementAPI("User.Created", "POST", "/users", "/users", 200, `{}`, userJSON(withPassword)),
			with(base("User.Created"), func(e *webhook.Event) { e.User = aliceUser() })},
		{"User.Created via registration", experience("User.Created", "Register", userJSON(alice())),
			with(base("User.Created"), func(e *webhook.Event) { e.User = aliceUser() })},
		{"User.Data.Updated full user", managementAPI("User.Data.Updated", "PATCH", "/users/"+aliceID, "/users/:userId", 200, userParams, userJSON(withPassword)),
			with(base("User.Data.Updated"), func(e *webhook.Event) { e.User = aliceUser() })},
		{"User.Data.Updated from experience", experience("User.Data.Updated", "SignIn", userJSON(named)),
			with(base("User.Data.Updated"), func(e *webhook.Event) {
				e.User = aliceUser()
				e.User.Name = "Alice Liddell"
			})},
		// customData is arbitrary: an "id" string inside must not be read
		// as the user (`data` is only the customData object on this route).
		{"User.Data.Updated custom-data only", managementAPI("User.Data.Updated", "PATCH", "/users/"+aliceID+"/custom-data", "/users/:userId/custom-data", 200, userParams, `{"id":"zzz999zzz999","theme":"dark"}`),
			with(base("User.Data.Updated"), func(e *webhook.Event) { e.Partial = true })},
		{"User.Data.Updated profile only", managementAPI("User.Data.Updated", "PATCH", "/users/"+aliceID+"/profile", "/users/:userId/profile", 200, userParams, `{"givenName":"Alice","familyName":"Liddell"}`),
			with(base("User.Data.Updated"), func(e *webhook.Event) { e.Partial = true })},
		{"User.Deleted with user", managementAPI("User.Deleted", "DELETE", "/users/"+aliceID, "/users/:userId", 204, userParams, userJSON(alice())),
			with(base("User.Deleted"), func(e *webhook.Event) { e.User = aliceUser() })},
		{"User.Deleted with null data (before 1.18.0)", managementAPI("User.Deleted", "DELETE", "/users/"+aliceID, "/users/:userId", 204, userParams, `null`),
			base("User.Deleted")},
		{"User.SuspensionStatus.Updated true", managementAPI("User.SuspensionStatus.Updated", "PATCH", "/users/"+aliceID+"/is-suspended", "/users/:userId/is-suspended", 200, userParams, userJSON(suspended(true))),
			with(base("User.SuspensionStatus.Updated"), func(e *webhook.Event) {
				e.User = aliceUser()
				e.User.IsSuspended = true
				e.Suspended = ptr(true)
			})},
		{"User.SuspensionStatus.Updated false", managementAPI("User.SuspensionStatus.Updated", "PATCH", "/users/"+aliceID+"/is-suspended", "/users/:userId/is-suspended", 200, userParams, userJSON(suspended(false))),
			with(base("User.SuspensionStatus.Updated"), func(e *webhook.Event) {
				e.User = aliceUser()
				e.Suspended = ptr(false)
			})},
		{"test payload, data event", testData("User.Created"),
			webhook.Event{Name: "User.Created", HookID: hookID, CreatedAt: createdAt, Test: true}},
		{"test payload, User.Data.Updated is not partial", testData("User.Data.Updated"),
			webhook.Event{Name: "User.Data.Updated", HookID: hookID, CreatedAt: createdAt, Test: true}},
		{"test payload, interaction event", testInteraction("PostRegister"),
			webhook.Event{Name: "PostRegister", HookID: hookID, CreatedAt: createdAt, UserID: "fake-id", User: testUser, Test: true}},
		{"test payload, older Logto", `{"hookId":"` + hookID + `","event":"PostRegister","createdAt":"` + created + `","sessionId":"fake-session-id","userAgent":"fake-user-agent","userId":"fake-user-id","ip":"fake-user-ip"}`,
			webhook.Event{Name: "PostRegister", HookID: hookID, CreatedAt: createdAt, UserID: "fake-user-id", Test: true}},
		// data.id of a role is not a user id.
		{"unknown event Role.Created", managementAPI("Role.Created", "POST", "/roles", "/roles", 200, `{}`, `{"tenantId":"default","id":"r0le00000000000000001","name":"admin","description":"Admins","type":"User","isDefault":false}`),
			webhook.Event{Name: "Role.Created", HookID: hookID, CreatedAt: createdAt}},
		{"unknown event with non-object data", `{"event":"Role.Scopes.Updated","createdAt":"` + created + `","data":[1,2,3],"hookId":"h"}`,
			webhook.Event{Name: "Role.Scopes.Updated", HookID: "h", CreatedAt: createdAt}},
		{"large numbers and extra fields ignored", `{"event":"User.Deleted","createdAt":"2026-08-01T10:00:00.123+00:00","status":1e400,"x":123456789012345678901234567890,"params":{"userId":"` + aliceID + `"},"data":null}`,
			webhook.Event{Name: "User.Deleted", CreatedAt: createdAt, UserID: aliceID}},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := webhook.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v\nbody: %s", err, tc.body)
			}
			if diff := diffEvent(got, tc.want); diff != "" {
				t.Errorf("Parse mismatch:\n%s\nbody: %s", diff, tc.body)
			}
		})
	}
}

// diffEvent compares field by field: times with Equal (ms precision
// matters), pointers by the values they point at.
func diffEvent(got, want webhook.Event) string {
	var d []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			d = append(d, fmt.Sprintf("  %s: got %v, want %v", field, g, w))
		}
	}
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("HookID", got.HookID == want.HookID, got.HookID, want.HookID)
	check("CreatedAt", got.CreatedAt.Equal(want.CreatedAt), got.CreatedAt.Format(time.RFC3339Nano), want.CreatedAt.Format(time.RFC3339Nano))
	check("UserID", got.UserID == want.UserID, got.UserID, want.UserID)
	check("Test", got.Test == want.Test, got.Test, want.Test)
	check("Partial", got.Partial == want.Partial, got.Partial, want.Partial)
	check("Suspended", (got.Suspended == nil) == (want.Suspended == nil) && (got.Suspended == nil || *got.Suspended == *want.Suspended),
		fmtPtr(got.Suspended), fmtPtr(want.Suspended))
	switch {
	case (got.User == nil) != (want.User == nil):
		d = append(d, fmt.Sprintf("  User: got %+v, want %+v", got.User, want.User))
	case got.User != nil:
		g, w := *got.User, *want.User
		check("User.CreatedAt", g.CreatedAt.Equal(w.CreatedAt), g.CreatedAt.Format(time.RFC3339Nano), w.CreatedAt.Format(time.RFC3339Nano))
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		check("User", g == w, fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w))
	}
	return strings.Join(d, "\n")
}

func fmtPtr(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

func TestParseRejects(t *testing.T) {
	userParams := `{"userId":"` + aliceID + `"}`
	for _, tc := range []struct{ name, body string }{
		{"empty body", ``},
		{"not JSON", `event=PostRegister`},
		{"truncated", interaction("PostRegister", "Register", "")[:40]},
		{"trailing data", `{"event":"Role.Created","createdAt":"` + created + `"}{}`},
		{"array", `[{"event":"PostRegister"}]`},
		{"null", `null`},
		{"string", `"PostRegister"`},
		{"missing event", `{"createdAt":"` + created + `","userId":"` + aliceID + `"}`},
		{"empty event", `{"event":"","createdAt":"` + created + `","userId":"` + aliceID + `"}`},
		{"event is a number", `{"event":1,"createdAt":"` + created + `","userId":"` + aliceID + `"}`},
		{"event is an array", `{"event":["PostRegister"],"createdAt":"` + created + `","userId":"` + aliceID + `"}`},
		// Exact key matching: encoding/json structs would accept "Event".
		{"event in wrong case", `{"Event":"PostRegister","createdAt":"` + created + `","userId":"` + aliceID + `"}`},
		{"missing createdAt", `{"event":"PostRegister","userId":"` + aliceID + `"}`},
		{"createdAt as number", `{"event":"PostRegister","createdAt":1754042399123,"userId":"` + aliceID + `"}`},
		{"createdAt unparseable", `{"event":"PostRegister","createdAt":"yesterday","userId":"` + aliceID + `"}`},
		{"createdAt without zone", `{"event":"PostRegister","createdAt":"2026-08-01T10:00:00.123","userId":"` + aliceID + `"}`},
		{"hookId is a number", `{"event":"PostRegister","createdAt":"` + created + `","userId":"` + aliceID + `","hookId":7}`},
		{"userId is a number", `{"event":"PostRegister","createdAt":"` + created + `","userId":12345}`},
		{"PostRegister without any user id", `{"event":"PostRegister","createdAt":"` + created + `","hookId":"h"}`},
		{"User.Created without any user id", managementAPI("User.Created", "POST", "/users", "/users", 200, `{}`, `{"hasPassword":true}`)},
		{"User.Deleted null data and no params", managementAPI("User.Deleted", "DELETE", "/users/x", "/users/:userId", 204, `{}`, `null`)},
		{"user is a string", interaction("PostRegister", "Register", `"`+aliceID+`"`)},
		{"user without id", interaction("PostRegister", "Register", `{"username":"alice"}`)},
		{"user.username is a number", interaction("PostRegister", "Register", strings.Replace(userJSON(alice()), `"alice"`, `42`, 1))},
		{"user.createdAt is a string", interaction("PostRegister", "Register", strings.Replace(userJSON(alice()), `"createdAt":1754042399123`, `"createdAt":"2025-08-01T09:59:59.123Z"`, 1))},
		{"user.createdAt is fractional", interaction("PostRegister", "Register", strings.Replace(userJSON(alice()), `"createdAt":1754042399123`, `"createdAt":1754042399123.5`, 1))},
		{"user.createdAt out of range", interaction("PostRegister", "Register", strings.Replace(userJSON(alice()), `"createdAt":1754042399123`, `"createdAt":9223372036854775807`, 1))},
		{"user.isSuspended is a string", interaction("PostRegister", "Register", strings.Replace(userJSON(alice()), `"isSuspended":false`, `"isSuspended":"false"`, 1))},
		{"params is a string", managementAPI("User.Deleted", "DELETE", "/users/x", "/users/:userId", 204, `"`+aliceID+`"`, `null`)},
		{"params.userId is a number", managementAPI("User.Deleted", "DELETE", "/users/x", "/users/:userId", 204, `{"userId":1}`, `null`)},
		{"User.* data is an array", managementAPI("User.Created", "POST", "/users", "/users", 200, userParams, `[]`)},
		{"User.* data is a string", managementAPI("User.Deleted", "DELETE", "/users/x", "/users/:userId", 204, userParams, `"gone"`)},
		{"data.isSuspended is a string", managementAPI("User.SuspensionStatus.Updated", "PATCH", "/users/x/is-suspended", "/users/:userId/is-suspended", 200, userParams, `{"isSuspended":"true"}`)},
		{"userId and user.id disagree", strings.Replace(interaction("PostRegister", "Register", userJSON(alice())), `"userId":"`+aliceID, `"userId":"zzz999zzz999`, 1)},
		// Ids must look like Logto ids: they travel into URLs and API paths.
		{"userId is a path", strings.ReplaceAll(interaction("PostRegister", "Register", ""), aliceID, "../users/x/role?x=")},
		{"user id is a path", strings.ReplaceAll(interaction("PostRegister", "Register", userJSON(alice())), aliceID, "../users/x/role?x=")},
		{"params.userId is a path", managementAPI("User.Deleted", "DELETE", "/users/x", "/users/:userId", 204, `{"userId":"../users/x/role?x="}`, `null`)},
		{"data.id has a slash", managementAPI("User.Created", "POST", "/users", "/users", 200, `{}`, strings.ReplaceAll(userJSON(alice()), aliceID, "a/b"))},
		{"userId of 129 characters", strings.ReplaceAll(interaction("PostRegister", "Register", ""), aliceID, strings.Repeat("a", 129))},
		{"userId with a space", strings.ReplaceAll(interaction("PostRegister", "Register", ""), aliceID, "abc def")},
		{"hookId with a query", `{"event":"PostRegister","createdAt":"` + created + `","userId":"` + aliceID + `","hookId":"h?x=1"}`},
		{"sessionId with a slash", `{"event":"PostSignIn","createdAt":"` + created + `","userId":"` + aliceID + `","sessionId":"s/1"}`},
		{"params.id with a dot", `{"event":"Role.Created","createdAt":"` + created + `","params":{"id":"..."}}`},
		{"params.userId and data.id disagree", managementAPI("User.Data.Updated", "PATCH", "/users/zzz999zzz999", "/users/:userId", 200, `{"userId":"zzz999zzz999"}`, userJSON(alice()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := webhook.Parse([]byte(tc.body))
			if !errors.Is(err, webhook.ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want ErrMalformed\nbody: %s", ev, err, tc.body)
			}
		})
	}
}

func TestKnownAndActionable(t *testing.T) {
	for _, tc := range []struct {
		ev                webhook.Event
		known, actionable bool
	}{
		{webhook.Event{Name: webhook.EventPostRegister}, true, true},
		{webhook.Event{Name: webhook.EventUserCreated}, true, true},
		{webhook.Event{Name: webhook.EventUserDataUpdated}, true, true},
		{webhook.Event{Name: webhook.EventUserDeleted}, true, true},
		{webhook.Event{Name: webhook.EventUserSuspension}, true, true},
		{webhook.Event{Name: webhook.EventPostSignIn}, true, false},
		{webhook.Event{Name: "PostResetPassword"}, false, false},
		{webhook.Event{Name: "Role.Created"}, false, false},
		{webhook.Event{Name: "user.created"}, false, false},
		{webhook.Event{Name: webhook.EventUserCreated, Test: true}, true, false},
	} {
		if got := tc.ev.Known(); got != tc.known {
			t.Errorf("%+v.Known() = %t, want %t", tc.ev, got, tc.known)
		}
		if got := tc.ev.Actionable(); got != tc.actionable {
			t.Errorf("%+v.Actionable() = %t, want %t", tc.ev, got, tc.actionable)
		}
	}
}

// User timestamps are epoch-ms numbers. Every value in the JS Date
// range is below 2^53, so exactness is not at risk; what matters is that
// the forms JSON.stringify can write all decode to the same instant.
func TestParseEpochMillisForms(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want time.Time
	}{
		{"1754042399123", userCreatedAt},
		{"1.754042399123e12", userCreatedAt},
		{"1754042399123.0", userCreatedAt},
		{"-1000", time.UnixMilli(-1000).UTC()},
		{"8640000000000000", time.UnixMilli(8_640_000_000_000_000).UTC()},
		{"null", time.Time{}},
	} {
		body := interaction("PostRegister", "Register",
			strings.Replace(userJSON(alice()), `"createdAt":1754042399123`, `"createdAt":`+tc.raw, 1))
		ev, err := webhook.Parse([]byte(body))
		if err != nil {
			t.Errorf("createdAt %s: %v", tc.raw, err)
			continue
		}
		if !ev.User.CreatedAt.Equal(tc.want) {
			t.Errorf("createdAt %s: got %v, want %v", tc.raw, ev.User.CreatedAt, tc.want)
		}
	}
}

// Each signal of a console test payload is enough on its own, so a
// future Logto that drops one of them is still recognised.
func TestParseTestSignals(t *testing.T) {
	head := `{"event":"User.Created","hookId":"` + hookID + `","createdAt":"` + created + `"`
	for _, tc := range []struct {
		name, body string
		test       bool
	}{
		{"data result only", head + `,"params":{},"data":{"result":"success"}}`, true},
		{"params.id only", head + `,"params":{"id":"fake-id"},"data":{}}`, true},
		{"userId only", head + `,"userId":"fake-id"}`, true},
		{"old userId only", head + `,"userId":"fake-user-id"}`, true},
		{"sessionId only", head + `,"sessionId":"fake-session-id"}`, true},
		{"result plus another key is not the test data", head + `,"params":{"userId":"` + aliceID + `"},"data":{"result":"success","id":"` + aliceID + `"}}`, false},
		{"result failure is not the test data", head + `,"params":{"userId":"` + aliceID + `"},"data":{"result":"failure"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := webhook.Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Test != tc.test {
				t.Errorf("Test = %t, want %t", ev.Test, tc.test)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc123def456":           true,
		"fake-id":                true,
		"A_b-9":                  true,
		strings.Repeat("z", 128): true,
		strings.Repeat("z", 129): false,
		"":                       false,
		"../users/x/role?x=":     false,
		"a/b":                    false,
		"a b":                    false,
		"a%2Fb":                  false,
		"é":                      false,
	} {
		if got := webhook.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
