package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"time"
)

// sealVersion is the first byte of every sealed cookie value. A later
// release that changes the envelope bumps it and keeps opening this one for
// as long as such cookies can live (minutes).
const sealVersion = 1

// sealer seals short-lived cookie values with AES-256-GCM. Its keys are
// derived from the session secrets by HKDF with a label of their own, so
// a cookie sealed for one purpose never opens as another, and the raw
// secret (which signs session ids) is never an encryption key.
type sealer struct {
	label string
	// aeads[0] is from the current secret and seals; the rest (the previous
	// secret) only open, so a rotation invalidates nothing in flight.
	aeads []cipher.AEAD
}

func newSealer(label string, secrets ...[]byte) (*sealer, error) {
	s := &sealer{label: label}
	for _, secret := range secrets {
		key, err := hkdf.Key(sha256.New, secret, nil, label, 32)
		if err != nil {
			return nil, fmt.Errorf("session: derive %s key: %w", label, err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("session: %s cipher: %w", label, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("session: %s cipher: %w", label, err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// seal returns the cookie value carrying payload until expires: the
// version byte, then the sealed expiry (unix ms) and payload. The version
// and the label are authenticated as additional data.
func (s *sealer) seal(payload []byte, expires time.Time) string {
	plain := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(payload)), uint64(expires.UnixMilli()))
	plain = append(plain, payload...)
	out := s.aeads[0].Seal([]byte{sealVersion}, nil, plain, s.aad())
	return base64.RawURLEncoding.EncodeToString(out)
}

// open returns the payload of value if one of the keys sealed it and it
// has not expired at now.
func (s *sealer) open(value string, now time.Time) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 1 || raw[0] != sealVersion {
		return nil, false
	}
	for _, aead := range s.aeads {
		plain, err := aead.Open(nil, nil, raw[1:], s.aad())
		if err != nil {
			continue
		}
		if len(plain) < 8 || now.UnixMilli() > int64(binary.BigEndian.Uint64(plain)) {
			return nil, false
		}
		return plain[8:], true
	}
	return nil, false
}

func (s *sealer) aad() []byte { return append([]byte{sealVersion}, s.label...) }

// sealedCookie names and shapes one kind of short-lived sealed cookie.
type sealedCookie struct {
	name   string
	secure bool
	sealer *sealer
}

// cookieName is base under http; under https it takes the __Host- prefix,
// which makes browsers refuse it unless it is Secure, host-only and
// Path=/, so a sibling subdomain cannot plant or overwrite it.
func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

func (sc sealedCookie) cookie(value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     sc.name,
		Value:    value,
		Path:     "/",
		MaxAge:   int((maxAge + time.Second - 1) / time.Second),
		Secure:   sc.secure,
		HttpOnly: true,
		// Lax: the pending sign-in must ride Logto's cross-site redirect
		// back to /callback.
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	return c
}

// set seals payload into the cookie until expires.
func (sc sealedCookie) set(w http.ResponseWriter, payload []byte, now, expires time.Time) {
	http.SetCookie(w, sc.cookie(sc.sealer.seal(payload, expires), expires.Sub(now)))
}

// expire deletes the cookie in the browser.
func (sc sealedCookie) expire(w http.ResponseWriter) { http.SetCookie(w, sc.cookie("", 0)) }

// read opens the request's cookie. present reports whether the request
// carried one at all, so callers can delete one that did not open.
func (sc sealedCookie) read(r *http.Request, now time.Time) (payload []byte, present, ok bool) {
	c, err := r.Cookie(sc.name)
	if err != nil {
		return nil, false, false
	}
	payload, ok = sc.sealer.open(c.Value, now)
	return payload, true, ok
}
