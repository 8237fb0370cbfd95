package logto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateFile is the one file the stand-in keeps in Config.DataDir.
const stateFile = "logto-standin.json"

// state is everything the stand-in knows. What a restart keeps is
// written as a snapshot; authorization codes, pending interactions and
// logout confirmations are short-lived and stay in memory, as a restart
// of Logto's engine would also invalidate most of them.
type state struct {
	dir string

	HookID       string
	SigningKey   []byte // PKCS#8 DER
	accounts     map[string]*account
	sessions     map[string]*session
	grants       map[string]*grant
	refresh      map[string]*refreshToken
	access       map[string]*accessToken
	codes        map[string]*authCode
	interactions map[string]*interaction
	logouts      map[string]*logoutRequest
}

// snapshot is the state file's content, in a stable order.
type snapshot struct {
	HookID        string          `json:"hookId"`
	SigningKey    []byte          `json:"signingKey"`
	Accounts      []*account      `json:"accounts"`
	Sessions      []*session      `json:"sessions"`
	Grants        []*grant        `json:"grants"`
	RefreshTokens []*refreshToken `json:"refreshTokens"`
	AccessTokens  []*accessToken  `json:"accessTokens"`
}

func loadState(dir string) (*state, error) {
	var snap snapshot
	if dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, stateFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read state: %w", err)
		default:
			if err := json.Unmarshal(data, &snap); err != nil {
				return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, stateFile), err)
			}
		}
	}
	st := &state{dir: dir, HookID: snap.HookID, SigningKey: snap.SigningKey}
	if st.HookID == "" {
		st.HookID = randomString(lowerAlnum, 21) // Logto hook ids: 21 chars [0-9a-z] (logto.md §1.6)
	}
	st.accounts = indexBy(snap.Accounts, func(a *account) string { return a.ID })
	st.sessions = indexBy(snap.Sessions, func(x *session) string { return x.ID })
	st.grants = indexBy(snap.Grants, func(g *grant) string { return g.ID })
	st.refresh = indexBy(snap.RefreshTokens, func(t *refreshToken) string { return t.Value })
	st.access = indexBy(snap.AccessTokens, func(t *accessToken) string { return t.Value })
	st.codes = map[string]*authCode{}
	st.interactions = map[string]*interaction{}
	st.logouts = map[string]*logoutRequest{}
	return st, nil
}

func indexBy[T any](items []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[key(it)] = it
	}
	return m
}

func sortedValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// saveLocked writes the persistent part of the state (caller holds s.mu).
// The file is replaced atomically so a crash never leaves half a file.
func (s *Server) saveLocked() error {
	st := s.st
	st.prune(s.now())
	if st.dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(snapshot{
		HookID:        st.HookID,
		SigningKey:    st.SigningKey,
		Accounts:      sortedValues(st.accounts),
		Sessions:      sortedValues(st.sessions),
		Grants:        sortedValues(st.grants),
		RefreshTokens: sortedValues(st.refresh),
		AccessTokens:  sortedValues(st.access),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(st.dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(st.dir, stateFile)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// persist saves after a mutation; a failed save is logged, not fatal, as
// the in-memory state is still right for the running process.
func (s *Server) persist() {
	if err := s.saveLocked(); err != nil {
		s.log.Error("persist state", "err", err)
	}
}

// prune drops expired entries so the state file does not grow forever.
// Consumed refresh tokens are kept until they expire: reuse detection
// needs them (logto.md §2.8).
func (st *state) prune(now time.Time) {
	expired := func(t time.Time) bool { return !now.Before(t) }
	maps.DeleteFunc(st.sessions, func(_ string, x *session) bool { return expired(x.ExpiresAt) })
	for id, g := range st.grants {
		if expired(g.ExpiresAt) {
			st.revokeGrant(id)
		}
	}
	maps.DeleteFunc(st.refresh, func(_ string, t *refreshToken) bool { return expired(t.ExpiresAt) })
	maps.DeleteFunc(st.access, func(_ string, t *accessToken) bool { return expired(t.ExpiresAt) })
	maps.DeleteFunc(st.codes, func(_ string, c *authCode) bool { return expired(c.ExpiresAt) })
	maps.DeleteFunc(st.interactions, func(_ string, i *interaction) bool { return expired(i.ExpiresAt) })
	maps.DeleteFunc(st.logouts, func(_ string, l *logoutRequest) bool { return expired(l.ExpiresAt) })
}

// signingKey returns the tenant's P-384 key, creating it on first start:
// Logto's default key is EC secp384r1 → ES384 (logto.md §2.2).
func (st *state) signingKey() (*signingKey, error) {
	if len(st.SigningKey) == 0 {
		priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("encode signing key: %w", err)
		}
		st.SigningKey = der
	}
	parsed, err := x509.ParsePKCS8PrivateKey(st.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P384() {
		return nil, errors.New("signing key is not an EC P-384 key")
	}
	return newSigningKey(priv)
}
