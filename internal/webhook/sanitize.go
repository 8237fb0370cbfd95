package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Sanitize returns the payload in a form fit for storage: compact JSON with
// every `identities.<target>.details` removed from `user` and `data`. Those
// details are the raw social profile Logto copies from the identity provider
// — personal data we have no use for and must not
// keep. `identities.<target>.userId` stays, so the link to the provider is
// still recorded.
//
// Key order is not preserved and the result no longer matches the
// signature; verify before sanitizing. Numbers are kept digit for digit.
// Every error wraps ErrMalformed.
func Sanitize(body []byte) ([]byte, error) {
	if !mayHoldDetails(body) {
		return compactObject(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // no float64 round trip for epoch ms or large ids
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: payload: data after the top-level value", ErrMalformed)
	}
	if top == nil {
		return nil, fmt.Errorf("%w: payload: not an object", ErrMalformed)
	}
	for _, key := range []string{"user", "data"} {
		u, _ := top[key].(map[string]any)
		ids, _ := u["identities"].(map[string]any)
		for _, identity := range ids {
			if id, ok := identity.(map[string]any); ok {
				delete(id, "details")
			}
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // stored, not embedded in HTML: keep it readable
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrMalformed, err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// mayHoldDetails is false only when no member of body can be named
// "details": the name appears nowhere, not even spelt with \u escapes.
// Most deliveries (email and password sign-ups) hold no identities at all.
func mayHoldDetails(body []byte) bool {
	return bytes.Contains(body, []byte("details")) || bytes.Contains(body, []byte(`\u`))
}

// compactObject is Sanitize for a body with nothing to remove: the same
// checks, without decoding every value into maps and encoding them again.
func compactObject(body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: payload: not an object", ErrMalformed)
	}
	var out bytes.Buffer
	out.Grow(len(trimmed))
	// Compact also refuses anything after the top-level value.
	if err := json.Compact(&out, trimmed); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return out.Bytes(), nil
}
