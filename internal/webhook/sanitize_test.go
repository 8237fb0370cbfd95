package webhook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"reportgate/internal/webhook"
)

func TestSanitize(t *testing.T) {
	social := userJSON(socialAlice())
	for _, tc := range []struct{ name, body string }{
		{"interaction user", interaction("PostRegister", "Register", social)},
		{"data user", experience("User.Data.Updated", "SignIn", social)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.body, `"details"`) {
				t.Fatal("fixture has no details; the case tests nothing")
			}
			out, err := webhook.Sanitize([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, pii := range []string{`"details"`, "alice@gmail.com", "rawData", "googleusercontent", "avatars.githubusercontent"} {
				if strings.Contains(string(out), pii) {
					t.Errorf("sanitized payload still contains %s: %s", pii, out)
				}
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			u, _ := got["user"].(map[string]any)
			if u == nil {
				u, _ = got["data"].(map[string]any)
			}
			ids, _ := u["identities"].(map[string]any)
			google, _ := ids["google"].(map[string]any)
			github, _ := ids["github"].(map[string]any)
			if google["userId"] != "1093847561029384756" || github["userId"] != "4242" {
				t.Errorf("identities lost their userId: %v", ids)
			}
			// Numbers stay digit for digit and the event still parses the same.
			if !strings.Contains(string(out), `"createdAt":1754042399123`) {
				t.Errorf("epoch ms not preserved: %s", out)
			}
			if !strings.Contains(string(out), `Alice <Liddell> & Co`) {
				t.Errorf("HTML-escaped output, want it readable: %s", out)
			}
			before, err1 := webhook.Parse([]byte(tc.body))
			after, err2 := webhook.Parse(out)
			if err1 != nil || err2 != nil {
				t.Fatalf("Parse before/after: %v / %v", err1, err2)
			}
			if d := diffEvent(after, before); d != "" {
				t.Errorf("sanitizing changed the event:\n%s", d)
			}
			if strings.ContainsAny(string(out), "\n\t") || strings.Contains(string(out), ": ") {
				t.Errorf("output not compact: %s", out)
			}
		})
	}
}

func TestSanitizeWithoutIdentities(t *testing.T) {
	for _, body := range []string{
		interaction("PostRegister", "Register", ""),
		managementAPI("User.Deleted", "DELETE", "/users/"+aliceID, "/users/:userId", 204, `{"userId":"`+aliceID+`"}`, `null`),
		managementAPI("User.Data.Updated", "PATCH", "/users/x/custom-data", "/users/:userId/custom-data", 200, `{"userId":"x"}`, `{"identities":"not an object"}`),
		testData("User.Created"),
		`{"event":"X","user":{"identities":{"google":"odd","apple":null}},"data":[1]}`,
	} {
		out, err := webhook.Sanitize([]byte(body))
		if err != nil {
			t.Errorf("Sanitize(%s): %v", body, err)
			continue
		}
		var a, b any
		if json.Unmarshal([]byte(body), &a) != nil || json.Unmarshal(out, &b) != nil {
			t.Fatalf("bad JSON in or out: %s", out)
		}
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		if string(aj) != string(bj) {
			t.Errorf("payload without details changed:\n in: %s\nout: %s", aj, bj)
		}
	}
}

func TestSanitizeRejects(t *testing.T) {
	for _, body := range []string{``, `nope`, `[]`, `null`, `"x"`, `{"a":1}{"b":2}`, `{"a":1} x`, `{"a":`} {
		if _, err := webhook.Sanitize([]byte(body)); !errors.Is(err, webhook.ErrMalformed) {
			t.Errorf("Sanitize(%q) = %v, want ErrMalformed", body, err)
		}
	}
}

// TestSanitizeFindsEscapedDetails checks a member named "details" is
// removed however its name is spelt on the wire.
func TestSanitizeFindsEscapedDetails(t *testing.T) {
	body := `{"event":"User.Created","data":{"identities":{"google":{"userId":"g1","d\u0065tails":{"email":"a@b.c"}}}}}`
	out, err := webhook.Sanitize([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "a@b.c") || !strings.Contains(string(out), `"userId":"g1"`) {
		t.Errorf("Sanitize kept the escaped details or lost the userId: %s", out)
	}
}
