package webhook_test

import (
	"fmt"
	"strconv"
	"strings"
)

// Payloads as Logto puts them on the wire:
// compact JSON.stringify output, JS key insertion order, null members kept,
// numeric epoch-ms user timestamps, hookId last.

const (
	aliceID    = "abc123def456"
	hookID     = "h0o0k0i0d0a0b0c0d0e0f"
	appID      = "app0000000000000000001"
	created    = "2026-08-01T10:00:00.123Z"
	userMillis = int64(1754042399123) // 2025-08-01T09:59:59.123Z
)

// jsonStr renders a JS value the way JSON.stringify would: nil → null.
func jsonStr(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}

func ptr[T any](v T) *T { return &v }

type userFields struct {
	id, username, email, name *string
	identities                string // JSON object
	customData                string
	suspended                 bool
	hasPassword               *bool // set on Management API responses
}

func alice() userFields {
	return userFields{
		id: ptr(aliceID), username: ptr("alice"), email: ptr("alice@example.com"),
		name: nil, identities: "{}", customData: "{}",
	}
}

// userJSON renders the user object in Logto's userInfoSelectFields order.
func userJSON(u userFields) string {
	ms := strconv.FormatInt(userMillis, 10)
	s := fmt.Sprintf(`{"id":%s,"username":%s,"primaryEmail":%s,"primaryPhone":null,"name":%s,"avatar":null,`+
		`"customData":%s,"identities":%s,"lastSignInAt":null,"createdAt":%s,"updatedAt":%s,"profile":{},`+
		`"applicationId":%q,"isSuspended":%t`,
		jsonStr(u.id), jsonStr(u.username), jsonStr(u.email), jsonStr(u.name),
		u.customData, u.identities, ms, ms, appID, u.suspended)
	if u.hasPassword != nil {
		s += fmt.Sprintf(`,"hasPassword":%t`, *u.hasPassword)
	}
	return s + "}"
}

const application = `{"id":"` + appID + `","type":"Traditional","name":"Reportgate","description":null}`

// interaction builds an InteractionHookEventPayload; user == "" omits it
// (Logto looks the user up after the request and omits it when that fails).
func interaction(event, interactionEvent, user string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"event":%q,"interactionEvent":%q,"createdAt":%q,"sessionId":"s3ss10nj7100000000001",`+
		`"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0 Safari/537.36",`+
		`"userId":%q,"userIp":"::ffff:10.0.0.1"`, event, interactionEvent, created, aliceID)
	if user != "" {
		b.WriteString(`,"user":` + user)
	}
	fmt.Fprintf(&b, `,"application":%s,"hookId":%q}`, application, hookID)
	return b.String()
}

// managementAPI builds a data-hook payload fired by a Management API route.
func managementAPI(event, method, path, route string, status int, params, data string) string {
	return fmt.Sprintf(`{"event":%q,"createdAt":%q,"userAgent":"Go-http-client/1.1","ip":"::ffff:10.0.0.2",`+
		`"path":%q,"method":%q,"status":%d,"params":%s,"matchedRoute":%q,"data":%s,"hookId":%q}`,
		event, created, path, method, status, params, route, data, hookID)
}

// experience builds a data-hook payload fired by the sign-in experience.
func experience(event, interactionEvent, data string) string {
	return fmt.Sprintf(`{"event":%q,"createdAt":%q,"interactionEvent":%q,"userAgent":"Mozilla/5.0","applicationId":%q,`+
		`"sessionId":"s3ss10nj7100000000001","ip":"::ffff:10.0.0.1","application":%s,"data":%s,"hookId":%q}`,
		event, created, interactionEvent, appID, application, data, hookID)
}

// Test payloads as current Logto's generateHookTestPayload builds them.
func testInteraction(event string) string {
	return fmt.Sprintf(`{"event":%q,"hookId":%q,"createdAt":%q,"userAgent":"fake-user-agent",`+
		`"sessionId":"fake-session-id","userIp":"fake-user-ip","userId":"fake-id","user":{"id":"fake-id",`+
		`"username":"fake-user","primaryEmail":"fake-user@fake-service.com","primaryPhone":"1234567890",`+
		`"name":"Fake User","avatar":"https://fake-service.com/avatars/fake-user.png","customData":{"theme":"light"},`+
		`"identities":{"google":{"userId":"fake-google-user-id"}},"profile":{},"applicationId":"fake-application-id",`+
		`"cimdClientId":null,"isSuspended":false,"lastSignInAt":%[4]d,"createdAt":%[4]d,"updatedAt":%[4]d},`+
		`"application":{"id":"fake-spa-application-id","type":"SPA","name":"Fake Application",`+
		`"description":"Fake application data for testing"}}`, event, hookID, created, userMillis)
}

func testData(event string) string {
	return fmt.Sprintf(`{"event":%q,"hookId":%q,"createdAt":%q,"userAgent":"fake-user-agent",`+
		`"path":"/fake-path/:id","method":"POST","status":200,"params":{"id":"fake-id"},"data":{"result":"success"}}`,
		event, hookID, created)
}

// socialAlice has a Google identity whose details are the raw social
// profile Sanitize must drop.
func socialAlice() userFields {
	u := alice()
	u.name = ptr("Alice <Liddell> & Co")
	u.customData = `{"plan":"team","onboardingStep":3,"preferences":{"theme":"dark","locale":"en-GB"}}`
	u.identities = `{"google":{"userId":"1093847561029384756","details":{"id":"1093847561029384756",` +
		`"email":"alice@gmail.com","name":"Alice Liddell","avatar":"https://lh3.googleusercontent.com/a/x",` +
		`"rawData":{"sub":"1093847561029384756","email":"alice@gmail.com","email_verified":true,` +
		`"name":"Alice Liddell","given_name":"Alice","family_name":"Liddell",` +
		`"picture":"https://lh3.googleusercontent.com/a/ACg8ocJx0000000000000000000000000000000000000000=s96-c",` +
		`"locale":"en-GB","hd":"example.com"}}},` +
		`"github":{"userId":"4242","details":{"id":"4242","name":"alice","email":null,` +
		`"avatar":"https://avatars.githubusercontent.com/u/4242?v=4","rawData":{"login":"alice","id":4242,"type":"User"}}}}`
	return u
}

// typicalPostRegister is a ~1.5 KB PostRegister of a social sign-up.
func typicalPostRegister() string {
	return interaction("PostRegister", "Register", userJSON(socialAlice()))
}
