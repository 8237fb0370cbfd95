package webhook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"reportgate/internal/webhook"
)

// Golden vectors from Logto's packages/core/src/utils/sign.test.ts.
func TestSignLogtoVectors(t *testing.T) {
	for _, tc := range []struct{ key, body, want string }{
		{"foo", `{"bar":"bar","foo":"foo"}`, "436958f1dbfefab37712fb3927760490fbf7757da8c0b2306ee7b485f0360eee"},
		{"foo", `{}`, "c76356efa19d219d1d7e08ccb20b1d26db53b143156f406c99dcb8e0876d6c55"},
	} {
		if got := webhook.Sign([]byte(tc.body), tc.key); got != tc.want {
			t.Errorf("Sign(%s, %q) = %s, want %s", tc.body, tc.key, got, tc.want)
		}
		if err := webhook.Verify([]byte(tc.body), tc.want, tc.key); err != nil {
			t.Errorf("Verify(%s, golden, %q) = %v, want nil", tc.body, tc.key, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	const key, oldKey = "k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3", "0ldk3y0ldk3y0ldk3y0ldk3y0ldk3y01"
	body := []byte(typicalPostRegister())
	good := webhook.Sign(body, key)

	tampered := []byte(strings.Replace(string(body), `"isSuspended":false`, `"isSuspended":true `, 1))
	if len(tampered) != len(body) || string(tampered) == string(body) {
		t.Fatal("tampered body must differ from the original in place")
	}
	oneByte := append([]byte(nil), body...)
	oneByte[len(oneByte)/2] ^= 0x01

	// Re-serialising the parsed payload changes key order and escapes "<"
	// and "&" (the user's name has both): the bytes differ, so the
	// signature must not survive (logto-io/docs PR #523).
	var parsed map[string]any
	if err := json.Unmarshal(body, &parsed); err != nil {
		t.Fatal(err)
	}
	reserialised, err := json.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if string(reserialised) == string(body) {
		t.Fatal("re-serialised body is byte-identical; the case tests nothing")
	}

	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		keys []string
		want error
	}{
		{"forged", body, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", []string{key}, webhook.ErrBadSignature},
		{"tampered body", tampered, good, []string{key}, webhook.ErrBadSignature},
		{"one bit flipped", oneByte, good, []string{key}, webhook.ErrBadSignature},
		{"re-serialised body", reserialised, good, []string{key}, webhook.ErrBadSignature},
		{"missing header", body, "", []string{key}, webhook.ErrMissingSignature},
		{"wrong key", body, good, []string{oldKey}, webhook.ErrBadSignature},
		{"previous key not passed", body, webhook.Sign(body, oldKey), []string{key}, webhook.ErrBadSignature},
		{"63 chars", body, good[:63], []string{key}, webhook.ErrBadSignature},
		{"65 chars", body, good + "0", []string{key}, webhook.ErrBadSignature},
		{"sha256= prefix", body, "sha256=" + good, []string{key}, webhook.ErrBadSignature},
		{"sha256= prefix, 64 chars", body, "sha256=" + good[7:], []string{key}, webhook.ErrBadSignature},
		{"non-hex", body, strings.Repeat("g", 64), []string{key}, webhook.ErrBadSignature},
		{"surrounding space", body, " " + good[1:], []string{key}, webhook.ErrBadSignature},
		{"base64 instead of hex", body, "Q2Fu4oCZdCBmb3JnZSB0aGlzIHNpZ25hdHVyZSBzbyBlYXNpbHksIGNhbiB5b3U/", []string{key}, webhook.ErrBadSignature},
		{"no keys", body, good, nil, webhook.ErrNoKey},
		// An HMAC under the empty key is computable by anyone, so a
		// blank key must mean misconfiguration, never "accept".
		{"only empty keys", body, webhook.Sign(body, ""), []string{"", ""}, webhook.ErrNoKey},
		{"empty key skipped", body, webhook.Sign(body, ""), []string{"", key}, webhook.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.body, tc.sig, tc.keys...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	const key, oldKey = "k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3", "0ldk3y0ldk3y0ldk3y0ldk3y0ldk3y01"
	body := []byte(typicalPostRegister())
	for _, tc := range []struct {
		name string
		sig  string
		keys []string
	}{
		{"current key", webhook.Sign(body, key), []string{key}},
		{"previous key during rotation", webhook.Sign(body, oldKey), []string{key, oldKey}},
		{"current key with previous passed", webhook.Sign(body, key), []string{key, oldKey}},
		{"empty key in the list ignored", webhook.Sign(body, key), []string{"", key}},
		// Decoded bytes are compared, so case carries no information.
		{"uppercase hex", strings.ToUpper(webhook.Sign(body, key)), []string{key}},
		// The key is raw UTF-8, not decoded: a key that happens to look
		// like hex or base64 is still used as-is.
		{"hex-looking key used raw", webhook.Sign(body, "deadbeef"), []string{"deadbeef"}},
		{"non-ASCII key", webhook.Sign(body, "clé-ü"), []string{"clé-ü"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify(body, tc.sig, tc.keys...); err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
		})
	}
	if webhook.Sign(body, "deadbeef") == webhook.Sign(body, "\xde\xad\xbe\xef") {
		t.Error("key was hex-decoded; Logto uses the key string's bytes")
	}
}
