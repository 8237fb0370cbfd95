package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"reportgate/internal/webhook"
)

// FuzzVerifyAndParse checks the properties the receiver relies on, for any
// body, key and signature header:
//   - nothing panics;
//   - Parse fails only with ErrMalformed, and a parsed Event is coherent;
//   - Sanitize keeps every parsed field (it only drops identity details);
//   - Verify accepts a signature only if it is the body's HMAC under the key.
func FuzzVerifyAndParse(f *testing.F) {
	const key = "k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3"
	for _, tc := range parseCases() {
		f.Add([]byte(tc.body), key, webhook.Sign([]byte(tc.body), key))
	}
	f.Add([]byte(`{"bar":"bar","foo":"foo"}`), "foo", "436958f1dbfefab37712fb3927760490fbf7757da8c0b2306ee7b485f0360eee")
	f.Add([]byte(`{}`), "foo", "c76356efa19d219d1d7e08ccb20b1d26db53b143156f406c99dcb8e0876d6c55")
	f.Add([]byte(`null`), "", "")
	f.Add([]byte(`{"event":"User.Deleted","createdAt":"`+created+`","params":{"userId":"../users/x/role?x="}}`), key, "")
	f.Add([]byte(`{"event":"PostRegister","createdAt":"`+created+`","userId":"a","user":{"id":"b"}}`), key, "sha256=00")

	f.Fuzz(func(t *testing.T, body []byte, key, sig string) {
		checkVerify(t, body, key, sig)

		ev, err := webhook.Parse(body)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			return
		}
		checkEvent(t, ev)

		clean, err := webhook.Sanitize(body)
		if err != nil {
			t.Fatalf("Parse accepted the body but Sanitize failed: %v", err)
		}
		again, err := webhook.Parse(clean)
		if err != nil {
			t.Fatalf("sanitized body no longer parses: %v\nsanitized: %s", err, clean)
		}
		if d := diffEvent(again, ev); d != "" {
			t.Fatalf("Sanitize changed the event:\n%s\nsanitized: %s", d, clean)
		}
	})
}

func checkVerify(t *testing.T, body []byte, key, sig string) {
	t.Helper()
	if key == "" {
		if err := webhook.Verify(body, sig, key); !errors.Is(err, webhook.ErrNoKey) {
			t.Fatalf("Verify with only an empty key = %v, want ErrNoKey", err)
		}
		return
	}
	want := webhook.Sign(body, key)
	if err := webhook.Verify(body, want, key); err != nil {
		t.Fatalf("Verify rejects its own signature: %v", err)
	}
	err := webhook.Verify(body, sig, key)
	if err == nil && !strings.EqualFold(sig, want) {
		t.Fatalf("Verify accepted signature %q, which is not the body's (%s)", sig, want)
	}
	if err != nil && !errors.Is(err, webhook.ErrBadSignature) && !errors.Is(err, webhook.ErrMissingSignature) {
		t.Fatalf("Verify error %v wraps neither ErrBadSignature nor ErrMissingSignature", err)
	}
	tampered := append(append([]byte(nil), body...), ' ')
	if err := webhook.Verify(tampered, want, key); err == nil {
		t.Fatal("Verify accepted a signature computed for a different body")
	}
}

func checkEvent(t *testing.T, ev webhook.Event) {
	t.Helper()
	if ev.Name == "" {
		t.Fatal("Parse returned an event without a name")
	}
	if ev.Known() && !ev.Test && ev.UserID == "" {
		t.Fatalf("known event %s without a user id", ev.Name)
	}
	for _, id := range []string{ev.UserID, ev.HookID} {
		if id != "" && !webhook.ValidID(id) {
			t.Fatalf("Parse accepted id %q, which is not shaped like a Logto id", id)
		}
	}
	if ev.User != nil && (ev.User.ID == "" || ev.User.ID != ev.UserID) {
		t.Fatalf("User.ID %q does not match UserID %q", ev.User.ID, ev.UserID)
	}
	if ev.Partial && (ev.Name != webhook.EventUserDataUpdated || ev.User != nil || ev.Test) {
		t.Fatalf("Partial set on %+v", ev)
	}
	if ev.Suspended != nil && ev.Name != webhook.EventUserSuspension {
		t.Fatalf("Suspended set on %s", ev.Name)
	}
	if ev.Actionable() && (ev.Test || ev.Name == webhook.EventPostSignIn) {
		t.Fatalf("%+v must not be actionable", ev)
	}
}
