package logto

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// profileClaims maps Logto's user profile fields to OIDC claims; they are
// present only when set.
var profileClaims = []struct{ field, claim string }{
	{"familyName", "family_name"}, {"givenName", "given_name"}, {"middleName", "middle_name"},
	{"nickname", "nickname"}, {"profile", "profile"}, {"website", "website"},
	{"gender", "gender"}, {"birthdate", "birthdate"}, {"zoneinfo", "zoneinfo"}, {"locale", "locale"},
}

// userClaims returns the claims for the granted scopes. Unset profile
// strings are JSON null, timestamps epoch milliseconds.
// The extended claims (custom_data, identities, roles) only go to
// userinfo, as with Logto's default "extended ID token claims" off.
func userClaims(u User, scopes []string, userinfo bool) object {
	c := object{{"sub", u.ID}}
	if slices.Contains(scopes, "profile") {
		c = c.with(
			member{"name", nullable(u.Name)},
			member{"picture", nullable(u.Avatar)},
			member{"username", nullable(u.Username)},
			member{"created_at", u.CreatedAt.UnixMilli()},
			member{"updated_at", u.UpdatedAt.UnixMilli()},
		)
		var profile map[string]any
		if json.Unmarshal(u.Profile, &profile) == nil {
			for _, p := range profileClaims {
				if v, ok := profile[p.field]; ok && v != nil {
					c = c.with(member{p.claim, v})
				}
			}
		}
	}
	if slices.Contains(scopes, "email") {
		c = c.with(member{"email", nullable(u.PrimaryEmail)}, member{"email_verified", u.PrimaryEmail != ""})
	}
	if slices.Contains(scopes, "phone") {
		c = c.with(member{"phone_number", nullable(u.PrimaryPhone)}, member{"phone_number_verified", u.PrimaryPhone != ""})
	}
	if !userinfo {
		return c
	}
	if slices.Contains(scopes, "custom_data") {
		c = c.with(member{"custom_data", emptyObject(u.CustomData)})
	}
	if slices.Contains(scopes, "identities") {
		c = c.with(member{"identities", emptyObject(u.Identities)}, member{"sso_identities", []any{}})
	}
	if slices.Contains(scopes, "roles") {
		c = c.with(member{"roles", []string{}})
	}
	return c
}

// idToken signs an ID token: ES384 with kid, aud a plain string, at_hash
// only from the code grant (Logto's refresh grant no longer adds it).
func (s *Server) idToken(g *grant, u User, now time.Time, accessToken string, codeGrant bool) (string, error) {
	c := userClaims(u, g.Scopes, false)
	if codeGrant {
		// at_hash: left half of the SHA-384 (ES384's hash) of the token.
		sum := sha512.Sum384([]byte(accessToken))
		c = c.with(member{"at_hash", base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])})
	}
	c = c.with(
		member{"aud", g.ClientID},
		member{"exp", now.Add(s.cfg.IDTokenTTL).Unix()},
		member{"iat", now.Unix()},
		member{"iss", s.issuer},
	)
	return signJWT(s.key.sign, c)
}

// audienceOf reads the aud of an ID token hint without verifying it; it
// only selects which client's registered URIs to check.
func (s *Server) audienceOf(idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Aud
}
