// Package control holds what the stand-ins' HTTP controls (under
// /_standin/) share: their request bodies are strict JSON, and their
// delays are Go durations such as "2s".
package control

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Prefix is the path the controls are served under; neither real Logto
// nor real Permit has it.
const Prefix = "/_standin/"

// Decode reads a control's JSON body into v, refusing unknown fields so a
// misspelt setting is an error rather than ignored.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// Delay parses a non-negative Go duration.
func Delay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("delay must be a duration such as \"2s\", not %q", s)
	}
	return d, nil
}
