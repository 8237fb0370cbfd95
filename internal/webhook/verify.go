// Package webhook verifies and decodes the webhook deliveries Logto sends
// when users register, sign in, change, are suspended or are deleted, so the
// HTTP receiver can turn them into authorization syncs. Everything here is a
// pure function over the request body and the signature header: no I/O, no
// clock, no package-level mutable state.
//
// The parts of Logto's webhook wire format that shape this package:
//
//   - The signature is a lowercase-hex HMAC-SHA256 of the exact body bytes
//     (the key is the raw UTF-8 secret), so Verify must run on the raw body
//     before anything decodes it.
//   - Interaction events (PostRegister, PostSignIn) and data events
//     (User.*) carry the user differently — `userId` + `user` versus
//     `params.userId` + `data` — and `data` is not always a user (the
//     custom-data and profile routes send only that sub-object).
//   - The console's "send test payload" posts fake ids and a `data` that is
//     {"result":"success"}; Parse flags those instead of failing.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// SignatureHeader is the request header carrying the body's signature.
// Logto omits it when the hook has an empty signing key (hooks created
// through the current API always get one); Verify treats that as
// ErrMissingSignature.
const SignatureHeader = "logto-signature-sha-256"

var (
	// ErrMissingSignature means the delivery carried no signature header.
	ErrMissingSignature = errors.New("missing logto-signature-sha-256")
	// ErrBadSignature means the signature is malformed or matches no key.
	ErrBadSignature = errors.New("webhook signature does not match")
	// ErrMalformed means a verified body is not a Logto payload we can read.
	ErrMalformed = errors.New("malformed webhook payload")
	// ErrNoKey means Verify was given no non-empty signing key: a
	// configuration error on our side (answer 500, not 401), and never a
	// reason to accept — an HMAC under the empty key is forgeable by anyone.
	ErrNoKey = errors.New("no webhook signing key configured")
)

// signatureLen is the length of a hex-encoded SHA-256 digest.
const signatureLen = 2 * sha256.Size

// Sign returns the signature Logto would send for body under key: the
// lowercase-hex HMAC-SHA256 of the bytes, with the key used as its raw UTF-8
// bytes (not base64- or hex-decoded).
func Sign(body []byte, key string) string {
	return hex.EncodeToString(mac(body, key))
}

// Verify reports whether signature is a valid signature of body under any
// non-empty key. Pass the current key first and, during a rotation, the
// previous one: Logto's signing-key regeneration replaces the key at once,
// with no overlap and no key id, so the receiver has to carry both for a while.
//
// body must be the exact request bytes; re-encoding parsed JSON changes key
// order and escaping and breaks the check. The signature must be
// exactly 64 hex characters with no "sha256=" prefix. Logto sends lowercase;
// uppercase is also accepted because the comparison is on the decoded bytes,
// so case carries no information and rejecting it would buy nothing.
//
// It returns nil, or an error wrapping ErrNoKey, ErrMissingSignature or
// ErrBadSignature.
func Verify(body []byte, signature string, keys ...string) error {
	usable := 0
	for _, k := range keys {
		if k != "" {
			usable++
		}
	}
	if usable == 0 {
		return ErrNoKey
	}
	if signature == "" {
		return ErrMissingSignature
	}
	if len(signature) != signatureLen {
		return fmt.Errorf("%w: want %d hex characters, got %d", ErrBadSignature, signatureLen, len(signature))
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrBadSignature)
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		// hmac.Equal is constant time; Logto's own docs compare with ===,
		// which leaks timing.
		if hmac.Equal(got, mac(body, k)) {
			return nil
		}
	}
	return ErrBadSignature
}

func mac(body []byte, key string) []byte {
	h := hmac.New(sha256.New, []byte(key))
	h.Write(body)
	return h.Sum(nil)
}
