// Package session is a gorilla/sessions Store that keeps session data
// server-side in the app database (SQLite or PostgreSQL) and puts only a
// random, HMAC-signed session id in the cookie.
//
// Why server-side: the Logto SDK's tokens (ID token, refresh token, access
// token map) easily exceed a 4 KB cookie (logto.md §3.3 #14), and a session
// must be revocable — at sign-out, and when Logto reports a user deleted or
// suspended.
//
// The database holds only the SHA-256 of each id, so a leaked database
// does not yield live cookies. Rows are written when the data changes and
// otherwise at most once per TouchInterval, so a page view costs one read.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"reportgate/internal/database"
)

// UserIDKey is the session value naming the signed-in user; Save records
// it so RevokeUser can find every session of that person.
const UserIDKey = "user_id"

// Options configure a Store.
type Options struct {
	CookieName      string        // default "reportgate_session"
	Secret          []byte        // at least 32 bytes; signs the cookie
	Secure          bool          // Secure cookie flag (https base URL)
	IdleTimeout     time.Duration // default 24h
	AbsoluteTimeout time.Duration // default 7 days
	TouchInterval   time.Duration // default 1 min
	Now             func() time.Time
}

// Store is the server-side session store.
type Store struct {
	db   *database.DB
	opts Options
}

// meta is kept in Values under an unexported key type: the app cannot
// collide with it and it is never encoded.
type metaKey struct{}

type meta struct {
	hash     string // sha256 of the id: the row's primary key
	loaded   []byte // encoded data as loaded, to detect changes
	lastSeen time.Time
}

// NewStore returns a Store over db.
func NewStore(db *database.DB, opts Options) (*Store, error) {
	if len(opts.Secret) < 32 {
		return nil, fmt.Errorf("session: secret is %d bytes, need at least 32", len(opts.Secret))
	}
	if opts.CookieName == "" {
		opts.CookieName = "reportgate_session"
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 24 * time.Hour
	}
	if opts.AbsoluteTimeout <= 0 {
		opts.AbsoluteTimeout = 7 * 24 * time.Hour
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, opts: opts}, nil
}

// CookieName is the name of the session cookie.
func (s *Store) CookieName() string { return s.opts.CookieName }

// Get returns the request's session, cached per request.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie. A missing,
// tampered, unknown or expired cookie gives a fresh empty session and no
// error: to the visitor that is simply "signed out".
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.cookieOptions()
	sess.IsNew = true
	c, err := r.Cookie(s.opts.CookieName)
	if err != nil {
		return sess, nil
	}
	id, ok := s.verify(c.Value)
	if !ok {
		return sess, nil
	}
	hash := hashID(id)
	var data []byte
	var lastSeen, expires int64
	err = s.db.QueryRowContext(r.Context(),
		`SELECT data, last_seen_at, expires_at FROM sessions WHERE id = $1`, hash).Scan(&data, &lastSeen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, nil
	}
	if err != nil {
		return sess, fmt.Errorf("load session: %w", err)
	}
	now := s.opts.Now()
	if now.UnixMilli() >= expires || now.Sub(time.UnixMilli(lastSeen)) >= s.opts.IdleTimeout {
		if _, err := s.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE id = $1`, hash); err != nil {
			return sess, fmt.Errorf("delete expired session: %w", err)
		}
		return sess, nil
	}
	values, err := decode(data)
	if err != nil {
		return sess, fmt.Errorf("decode session: %w", err)
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	sess.ID = id
	sess.IsNew = false
	sess.Values[metaKey{}] = &meta{hash: hash, loaded: data, lastSeen: time.UnixMilli(lastSeen)}
	return sess, nil
}

// Save writes the session when its data changed, or refreshes last-seen
// when TouchInterval has passed; otherwise it writes nothing. A new
// session with no data gets no row and no cookie. MaxAge < 0 destroys it.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		return s.Destroy(r, w, sess)
	}
	data, err := encode(sess.Values)
	if err != nil {
		return err
	}
	m, _ := sess.Values[metaKey{}].(*meta)
	now := s.opts.Now()
	ctx := r.Context()
	if m == nil {
		if len(data) == len("{}") {
			return nil
		}
		return s.create(ctx, w, sess, data, now)
	}
	changed := string(data) != string(m.loaded)
	if !changed && now.Sub(m.lastSeen) < s.opts.TouchInterval {
		return nil
	}
	var res sql.Result
	if changed {
		res, err = s.db.ExecContext(ctx, `UPDATE sessions SET data = $1, user_id = $2, last_seen_at = $3 WHERE id = $4`,
			data, userID(sess.Values), now.UnixMilli(), m.hash)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, now.UnixMilli(), m.hash)
	}
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Revoked while this request ran: revocation wins over the write.
		clear(sess.Values)
		http.SetCookie(w, s.expiredCookie())
		return nil
	}
	m.loaded, m.lastSeen = data, now
	return nil
}

// Renew moves the session's data to a new id and deletes the old row, so
// an id known before sign-in (fixation) never becomes a signed-in session.
// The new session starts a new absolute lifetime.
func (s *Store) Renew(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	data, err := encode(sess.Values)
	if err != nil {
		return err
	}
	if m, ok := sess.Values[metaKey{}].(*meta); ok {
		if _, err := s.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE id = $1`, m.hash); err != nil {
			return fmt.Errorf("renew session: %w", err)
		}
		delete(sess.Values, metaKey{})
	}
	return s.create(r.Context(), w, sess, data, s.opts.Now())
}

// Destroy deletes the session server-side and expires its cookie.
func (s *Store) Destroy(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if m, ok := sess.Values[metaKey{}].(*meta); ok {
		if _, err := s.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE id = $1`, m.hash); err != nil {
			return fmt.Errorf("destroy session: %w", err)
		}
	}
	clear(sess.Values)
	sess.ID = ""
	http.SetCookie(w, s.expiredCookie())
	return nil
}

// RevokeUser deletes every session of userID; the next request with any of
// their cookies is signed out.
func (s *Store) RevokeUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpired removes rows past their idle or absolute expiry. Expiry is
// enforced on load regardless; this only reclaims space.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	now := s.opts.Now()
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		now.UnixMilli(), now.Add(-s.opts.IdleTimeout).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *Store) create(ctx context.Context, w http.ResponseWriter, sess *sessions.Session, data []byte, now time.Time) error {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("new session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	hash := hashID(id)
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, data, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, userID(sess.Values), data, now.UnixMilli(), now.UnixMilli(), now.Add(s.opts.AbsoluteTimeout).UnixMilli())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	sess.ID = id
	sess.IsNew = false
	sess.Values[metaKey{}] = &meta{hash: hash, loaded: data, lastSeen: now}
	c := sessions.NewCookie(s.opts.CookieName, id+"."+s.sign(id), s.cookieOptions())
	http.SetCookie(w, c)
	return nil
}

func (s *Store) cookieOptions() *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   int(s.opts.AbsoluteTimeout / time.Second),
		Secure:   s.opts.Secure,
		HttpOnly: true,
		// Lax, not Strict: the cookie must come along when Logto redirects
		// the browser back to /callback (a cross-site top-level GET).
		SameSite: http.SameSiteLaxMode,
	}
}

func (s *Store) expiredCookie() *http.Cookie {
	opts := s.cookieOptions()
	opts.MaxAge = -1
	return sessions.NewCookie(s.opts.CookieName, "", opts)
}

func (s *Store) sign(id string) string {
	mac := hmac.New(sha256.New, s.opts.Secret)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (s *Store) verify(value string) (string, bool) {
	id, sig, ok := strings.Cut(value, ".")
	if !ok || len(id) != 43 {
		return "", false
	}
	return id, hmac.Equal([]byte(sig), []byte(s.sign(id)))
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func userID(values map[any]any) string {
	id, _ := values[UserIDKey].(string)
	return id
}

// encode accepts only string keys with string values — all the app stores
// (the Logto SDK's storage is string to string) — so data round-trips
// exactly; anything else is a programming error reported loudly.
func encode(values map[any]any) ([]byte, error) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		if _, internal := k.(metaKey); internal {
			continue
		}
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("session: key %v is %T, only strings are stored", k, k)
		}
		vs, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("session: value of %q is %T, only strings are stored", ks, v)
		}
		out[ks] = vs
	}
	return json.Marshal(out) // sorted keys: equal data encodes equally
}

func decode(data []byte) (map[any]any, error) {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	out := make(map[any]any, len(m))
	for k, v := range maps.All(m) {
		out[k] = v
	}
	return out, nil
}
