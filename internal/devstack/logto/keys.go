package logto

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is the tenant's ES384 key and its JWKS entry.
type signingKey struct {
	priv *ecdsa.PrivateKey
	kid  string
	jwks []byte // the JWKS document, encoded once
	sign jose.Signer
	// atSign signs resource access tokens, which carry typ "at+jwt".
	atSign jose.Signer
}

func newSigningKey(priv *ecdsa.PrivateKey) (*signingKey, error) {
	pub, err := priv.PublicKey.Bytes() // uncompressed point 0x04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	size := (len(pub) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(pub[1:1+size]), b64(pub[1+size:])
	// Logto's kid: base64url SHA-256 of JSON.stringify of the required
	// members in this order (packages/core/src/utils/jwks.ts).
	components, err := marshalJS(object{{"crv", "P-384"}, {"kty", "EC"}, {"x", x}, {"y", y}})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(components)
	k := &signingKey{priv: priv, kid: b64(sum[:])}
	// Every member a JSON string: the SDK decodes keys as map[string]string.
	jwk := object{{"kty", "EC"}, {"x", x}, {"y", y}, {"crv", "P-384"}, {"kid", k.kid}}
	if k.jwks, err = marshalJS(object{{"keys", []object{jwk}}}); err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	sk := jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: priv, KeyID: k.kid}}
	// ID token header is just {"alg":"ES384","kid":…}, as Logto's.
	if k.sign, err = jose.NewSigner(sk, nil); err != nil {
		return nil, fmt.Errorf("id token signer: %w", err)
	}
	if k.atSign, err = jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("at+jwt")); err != nil {
		return nil, fmt.Errorf("access token signer: %w", err)
	}
	return k, nil
}

// signJWT signs claims (a map or object) with signer.
func signJWT(signer jose.Signer, claims any) (string, error) {
	payload, err := marshalJS(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// verifyJWT checks a compact JWS against the tenant key and returns the
// payload bytes.
func (k *signingKey) verifyJWT(token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		return nil, fmt.Errorf("parse jwt: %w", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != k.kid {
		return nil, fmt.Errorf("jwt signed by an unknown key")
	}
	payload, err := jws.Verify(&k.priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("verify jwt: %w", err)
	}
	return payload, nil
}

// verifiedCacheSize bounds the verified-token cache; past it the cache
// starts again empty.
const verifiedCacheSize = 1024

// verifiedToken is verifyJWT with the outcome of a successful check
// remembered: a P-384 verify costs about a millisecond, and an M2M client
// sends the same token on every Management API call for an hour. The
// signature over given bytes with a given key never changes, so the
// answer is the same; the claims (expiry included) are still checked on
// every request by the caller.
func (s *Server) verifiedToken(token string) ([]byte, error) {
	s.verifiedMu.Lock()
	payload, ok := s.verified[token]
	s.verifiedMu.Unlock()
	if ok {
		return payload, nil
	}
	payload, err := s.key.verifyJWT(token)
	if err != nil {
		return nil, err
	}
	s.verifiedMu.Lock()
	defer s.verifiedMu.Unlock()
	if len(s.verified) >= verifiedCacheSize {
		clear(s.verified)
	}
	s.verified[token] = payload
	return payload, nil
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	// Logto forbids caching the key set so rotation is seen at once
	// (koa-jwks-cache-control.ts).
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	w.Header().Set("Content-Type", "application/jwk-set+json; charset=utf-8")
	w.Write(s.key.jwks)
}
