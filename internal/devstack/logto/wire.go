package logto

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Alphabets of Logto's generated ids.
const (
	lowerAlnum = "0123456789abcdefghijklmnopqrstuvwxyz"
	// urlAlphabet is nanoid's default, which oidc-provider uses for opaque
	// tokens, codes and interaction ids.
	urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)

// randomString draws n characters uniformly from alphabet, rejecting the
// bytes that would bias the modulo; random bytes are read in batches.
func randomString(alphabet string, n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// RandomID returns n characters of [0-9a-z], uniformly drawn: the form of
// Logto's generated ids and app secrets, for callers that generate them
// ahead of the stand-in (dev's secrets).
func RandomID(n int) string { return randomString(lowerAlnum, n) }

// opaqueToken has the shape of oidc-provider's opaque tokens and codes:
// 43 url-safe characters.
func opaqueToken() string { return randomString(urlAlphabet, 43) }

// member is one key of an object whose key order matters on the wire.
type member struct {
	key   string
	value any
}

// object is a JSON object that keeps its key order, because Logto's
// payloads are JavaScript objects serialised in insertion order and
// receivers may hash or compare the exact bytes. A nil value is
// written as null; use omit() to leave a key out like JS `undefined`.
type object []member

// omitted marks a member that JSON.stringify would drop (undefined).
type omitted struct{}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, m := range o {
		if _, skip := m.value.(omitted); skip {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, err := marshalJS(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalJS(m.value)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", m.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// with returns o with m appended (never aliasing o's backing array).
func (o object) with(m ...member) object {
	return append(append(object{}, o...), m...)
}

// optional returns v, or omitted{} when v is "" — a JS undefined.
func optional(v string) any {
	if v == "" {
		return omitted{}
	}
	return v
}

// marshalJS encodes like JSON.stringify: compact and without Go's HTML
// escaping of <, > and &.
func marshalJS(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeJSON sends v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshalJS(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	writeJSONBody(w, status, body)
}

// writeJSONBody sends already encoded JSON with the given status.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// clientIP returns the caller's address as Koa's ctx.ip shows it on a
// dual-stack Node server: IPv4 as IPv4-mapped IPv6, e.g.
// "::ffff:127.0.0.1".
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.To4() != nil && !strings.Contains(host, ":") {
		return "::ffff:" + ip.String()
	}
	return host
}

// parseQueryTolerant decodes a query string the way Logto's Koa stack
// does, accepting what the Go SDK sends: literal spaces and unescaped
// ':' and '/'. A malformed escape keeps its raw text
// rather than failing the whole request; ';' is just a character.
func parseQueryTolerant(raw string) url.Values {
	out := url.Values{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = unescapeTolerant(k)
		out[k] = append(out[k], unescapeTolerant(v))
	}
	return out
}

// requestParams reads OIDC parameters from the query and, for POST, the
// form body (which wins), as oidc-provider accepts both.
func requestParams(r *http.Request) url.Values {
	q := parseQueryTolerant(r.URL.RawQuery)
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			for k, v := range r.PostForm {
				q[k] = v
			}
		}
	}
	return q
}

func unescapeTolerant(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
