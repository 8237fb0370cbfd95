// Package session holds everything reportgate remembers about a browser
// between requests, designed so that an anonymous visitor costs the
// server nothing and a release can change any format without signing
// anyone out.
//
// # Signed-in sessions: server-side rows
//
// A signed-in person's session (the Logto SDK's tokens, their user id,
// their notices) is a row in the app database; the cookie carries only a
// random id with an HMAC of it. Server-side because the tokens easily
// exceed a browser's 4 KB cookie limit, and because a session must be
// revocable: at sign-out, and when Logto reports a user deleted or
// suspended. The database holds only the SHA-256 of each id, so a leaked
// database does not yield live cookies; Session.ID carries that hash (the
// row key), never the cookie's secret id, so it is safe to log. Rows are
// written when the data changes and otherwise at most once per
// TouchInterval, so a page view costs one read, or none when the row is
// in the in-process cache (Options.CacheTTL, see cache.go). A row is
// created only by a successful sign-in (Renew), or by Save of a session
// that holds data. Under https the cookie is Secure and named with the
// __Host- prefix, so a sibling subdomain can neither set nor shadow it; a
// browser still holding the bare-named cookie of an earlier release is
// read through it once and given the prefixed one for the same session
// (the bare one stays until the session is renewed or ended, for replicas
// of the earlier release during a rolling deploy).
//
// Concurrent requests of one session each load their own copy; the last
// Save that changed data wins for the whole map. The auth layer serialises
// token refreshes per session, so nothing the app stores races in practice.
// A Save never brings back a row deleted meanwhile (sign-out elsewhere,
// RevokeUser, expiry): revocation wins over a late write.
//
// # Versioned session encoding
//
// Row data starts with a version byte (see codec.go). To change the
// format, a release first learns to read the new version while still
// writing the old one, and the following release starts writing the new
// one, so during a rolling deploy the older replicas still read what the
// newer ones wrote. This release reads v1 (binary) and v2 (a JSON object
// of strings and string lists, all the app stores) and writes v1: the
// release before it reads only v1. A row this release cannot decode (an
// unknown version, or damage) is never deleted: the request is treated as
// signed out and the row is left for the release that wrote it, until it
// expires like any other.
//
// # Pending sign-ins: a sealed cookie, no row
//
// Between /sign-in and Logto's redirect back to /callback, the SDK's
// items (state, PKCE verifier, redirect URI) and the return_to path live in
// a cookie sealed with AES-256-GCM under a key derived by HKDF from the
// session secret with its own label. The expiry (PendingTTL) is inside the
// sealed value. The cookie holds up to MaxPending sign-ins keyed by
// state, so several tabs can sign in at once, and each is taken once at
// the callback. Being stateless, a copied cookie value stays openable until
// it expires; what makes a callback single-use is the authorization code,
// which Logto accepts once. It is HttpOnly and SameSite=Lax (it must ride Logto's
// cross-site redirect back), and Secure with the __Host- prefix under
// https.
//
// # Notices
//
// A signed-in person's notices (flash messages) live in their session
// values (AddNotice, TakeNotices). A signed-out visitor's single notice
// lives in a short sealed cookie (SetNotice, TakeNotice), never in a row.
//
// # Secret rotation
//
// Options.PreviousSecret still verifies session cookies and opens sealed
// cookies made before a rotation; everything new uses Options.Secret. So
// rotating the secret signs nobody out, as long as the previous one stays
// configured for AbsoluteTimeout (after which every session signed with it
// has ended anyway).
package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"reportgate/internal/config"
	"reportgate/internal/database"
)

// UserIDKey is the session value naming the signed-in user; Save records
// it so RevokeUser can find every session of that person.
const UserIDKey = "user_id"

// Options configure a Store. Zero durations take the defaults.
type Options struct {
	CookieName      string        // default "reportgate_session"; with Secure it takes the __Host- prefix
	Secret          []byte        // at least 32 bytes; HMAC-signs the cookie, keys the sealed cookies
	PreviousSecret  []byte        // optional, at least 32 bytes: still accepted, never used for new cookies
	Secure          bool          // Secure cookie flag (https base URL)
	IdleTimeout     time.Duration // default REPORTGATE_SESSION_IDLE_TIMEOUT's: unused this long, a session is dead
	AbsoluteTimeout time.Duration // default REPORTGATE_SESSION_MAX_AGE's, from creation (or Renew), whatever the activity
	TouchInterval   time.Duration // default 1 min: last-seen is written at most this often
	Now             func() time.Time
	// CacheTTL is how long a row read from the database serves further
	// requests of its session from memory (0: every request reads it).
	// Sign-out, revocation and data changes drop it at once here, and
	// through Peers on the other replicas.
	CacheTTL  time.Duration
	CacheSize int         // rows kept at most; default DefaultCacheSize
	Peers     Broadcaster // the other replicas; nil when there are none
}

// Store is the server-side session store. Its only mutable state is the
// row cache, which locks itself, so one Store serves all requests.
type Store struct {
	db   *database.DB
	opts Options
	// cookie is the session cookie's name. bareCookie is its name before
	// it took the __Host- prefix (empty under http): a browser signed in
	// then still presents only that one, so it is read once and its
	// session moved to the prefixed name rather than signed out.
	cookie, bareCookie string
	// secrets verify session cookies: the current one first, which also
	// signs new ones.
	secrets [][]byte
	pending sealedCookie
	notice  sealedCookie
	cache   *rowCache
}

// metaKey keys the per-request bookkeeping kept in Values: the app cannot
// collide with an unexported key type, and encode skips it. Losing it (the
// app clears or replaces Values) only costs a write: the row is found by
// Session.ID.
type metaKey struct{}

type meta struct {
	loaded   []byte // encoded data as last read or written, to detect changes
	lastSeen time.Time
	// moveID is the id of a session read through the bare-named cookie;
	// Save hands it to the browser under the prefixed name, for the rest
	// of its lifetime (until expires).
	moveID  string
	expires time.Time
}

// idBytes is the size of the random session id: 256 bits.
const idBytes = 32

// emptyData is the encoding of a session with no values.
const emptyData = "\x01\x00"

// NewStore returns a Store over db, which must be migrated.
func NewStore(db *database.DB, opts Options) (*Store, error) {
	if len(opts.Secret) < 32 {
		return nil, fmt.Errorf("session: secret is %d bytes, need at least 32", len(opts.Secret))
	}
	if opts.IdleTimeout < 0 || opts.AbsoluteTimeout < 0 || opts.TouchInterval < 0 {
		return nil, errors.New("session: negative timeout")
	}
	if opts.CookieName == "" {
		opts.CookieName = "reportgate_session"
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = config.DefaultSessionIdleTimeout
	}
	if opts.AbsoluteTimeout == 0 {
		opts.AbsoluteTimeout = config.DefaultSessionMaxAge
	}
	if opts.TouchInterval == 0 {
		opts.TouchInterval = time.Minute
	}
	if opts.TouchInterval >= opts.IdleTimeout {
		// last-seen lags activity by up to TouchInterval, so an active
		// session would die of "idleness".
		return nil, fmt.Errorf("session: touch interval %s must be shorter than idle timeout %s",
			opts.TouchInterval, opts.IdleTimeout)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.PreviousSecret) > 0 && len(opts.PreviousSecret) < 32 {
		return nil, fmt.Errorf("session: previous secret is %d bytes, need at least 32", len(opts.PreviousSecret))
	}
	// Cloned: the caller may reuse its slices.
	secrets := [][]byte{bytes.Clone(opts.Secret)}
	if len(opts.PreviousSecret) > 0 {
		secrets = append(secrets, bytes.Clone(opts.PreviousSecret))
	}
	opts.Secret, opts.PreviousSecret = nil, nil
	pending, err := newSealer("reportgate pending sign-in v1", secrets...)
	if err != nil {
		return nil, err
	}
	notice, err := newSealer("reportgate notice v1", secrets...)
	if err != nil {
		return nil, err
	}
	if opts.CacheTTL < 0 || opts.CacheSize < 0 {
		return nil, errors.New("session: negative cache TTL or size")
	}
	s := &Store{db: db, opts: opts, secrets: secrets, cookie: cookieName(opts.CookieName, opts.Secure),
		pending: sealedCookie{name: cookieName("reportgate_signin", opts.Secure), secure: opts.Secure, sealer: pending},
		notice:  sealedCookie{name: cookieName("reportgate_notice", opts.Secure), secure: opts.Secure, sealer: notice},
		cache:   newRowCache(opts.CacheTTL, opts.CacheSize),
	}
	if opts.Secure {
		s.bareCookie = opts.CookieName
	}
	s.cache.listen(opts.Peers)
	return s, nil
}

// CookieName is the name of the session cookie: Options.CookieName, with
// the __Host- prefix under https.
func (s *Store) CookieName() string { return s.cookie }

// Get returns the request's session, loaded once per request and cached in
// gorilla's registry under name. The store has a single cookie
// (CookieName); name only keys the registry.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie. A missing,
// tampered, unknown or expired cookie gives a fresh empty session and no
// error: to the visitor each is simply "signed out", and gorilla's habit of
// returning the decode error would turn a stale cookie (say, after a secret
// rotation) into an error page for every handler that checks err. Only a
// database failure is an error, and the session is then fresh too.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.cookieOptions()
	sess.IsNew = true
	// The prefixed cookie first; the bare one of the release before only
	// when the prefixed one gives no session (absent, or dead: a browser
	// moved to it, then signed out and in again on a replica of that
	// release, holds a dead prefixed cookie beside a live bare one).
	for _, cookie := range []string{s.cookie, s.bareCookie} {
		if cookie == "" {
			continue
		}
		c, err := r.Cookie(cookie)
		if err != nil {
			continue
		}
		if found, err := s.open(r, sess, c.Value, cookie == s.bareCookie); found || err != nil {
			return sess, err
		}
	}
	return sess, nil
}

// open loads into sess the session a cookie value names, reporting
// whether there was a live one. bare marks a value read through the
// bare-named cookie, which Save moves to the prefixed name.
func (s *Store) open(r *http.Request, sess *sessions.Session, value string, bare bool) (bool, error) {
	id, ok := s.verify(value)
	if !ok {
		return false, nil
	}
	hash := hashID(id)
	now := s.opts.Now()
	row, cached := s.cache.get(hash, now)
	var gen uint64
	if !cached {
		// Read before the row: a drop while it is read makes it stale.
		gen = s.cache.generation()
		err := s.db.QueryRowContext(r.Context(),
			`SELECT data, created_at, last_seen_at, expires_at FROM sessions WHERE id = $1`, hash).
			Scan(&row.data, &row.created, &row.lastSeen, &row.expiry)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("load session: %w", err)
		}
	}
	// expires_at was fixed at creation; also apply today's AbsoluteTimeout
	// so shortening it takes effect on existing sessions.
	if now.UnixMilli() > row.expiry || now.Sub(time.UnixMilli(row.created)) > s.opts.AbsoluteTimeout ||
		now.Sub(time.UnixMilli(row.lastSeen)) > s.opts.IdleTimeout {
		s.cache.drop(hash)
		if err := s.delete(r.Context(), s.db, hash); err != nil {
			return false, fmt.Errorf("delete expired session: %w", err)
		}
		return false, nil
	}
	values, err := decode(row.data)
	if err != nil {
		// Signed out for this request, but the row stays: a newer release
		// may have written it, and the visitor's next request may reach a
		// replica that reads it. sess.ID stays empty, so nothing this
		// request saves overwrites it.
		return false, nil
	}
	if !cached {
		row.user = userID(values)
		s.cache.put(hash, row, now, gen)
	}
	m := &meta{loaded: row.data, lastSeen: time.UnixMilli(row.lastSeen)}
	if bare {
		m.moveID = id
		m.expires = time.UnixMilli(min(row.expiry, row.created+s.opts.AbsoluteTimeout.Milliseconds()))
	}
	sess.Values = values
	sess.Values[metaKey{}] = m
	sess.ID = hash
	sess.IsNew = false
	return true, nil
}

// Save writes the session when its data changed, or refreshes last-seen
// when TouchInterval has passed; otherwise it writes nothing. A new
// session with no data gets no row and no cookie (bots and health checks
// create nothing). Options.MaxAge < 0 destroys the session. The cookie is
// set only when a row is created: its Max-Age then matches the absolute
// lifetime, so re-sending it on every Save would only add a header.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		return s.Destroy(r, w, sess)
	}
	data, err := encode(sess.Values)
	if err != nil {
		return err
	}
	ctx, now := r.Context(), s.opts.Now()
	if sess.ID == "" {
		if string(data) == emptyData {
			return nil
		}
		c, err := s.create(ctx, s.db, sess, data, now)
		if err != nil {
			return err
		}
		http.SetCookie(w, c)
		return nil
	}
	m, _ := sess.Values[metaKey{}].(*meta)
	if m != nil && m.moveID != "" {
		s.moveCookie(w, m, now)
	}
	changed := m == nil || !bytes.Equal(data, m.loaded)
	if !changed && now.Sub(m.lastSeen) < s.opts.TouchInterval {
		return nil
	}
	var res sql.Result
	if changed {
		res, err = s.db.ExecContext(ctx, `UPDATE sessions SET data = $1, user_id = $2, last_seen_at = $3 WHERE id = $4`,
			data, userID(sess.Values), now.UnixMilli(), sess.ID)
	} else {
		// Touch only: leaves data alone, so a concurrent request's change
		// is not overwritten by a request that changed nothing.
		res, err = s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, now.UnixMilli(), sess.ID)
	}
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	n, err := rowsAffected(res, "save session")
	if err != nil {
		return err
	}
	if n == 0 {
		// Deleted while this request ran: revocation wins over the write.
		s.cache.drop(sess.ID)
		s.reset(sess)
		http.SetCookie(w, s.expiredCookie())
		return nil
	}
	sess.Values[metaKey{}] = &meta{loaded: data, lastSeen: now}
	if !changed {
		s.cache.touched(sess.ID, now)
		return nil
	}
	// Changed data (refreshed tokens, notices) must not be read from an
	// older cached copy, here or elsewhere.
	s.cache.drop(sess.ID)
	return s.publish(ctx, topicSession, sess.ID)
}

// Renew moves the session's data to a new id and deletes the old row in
// one transaction, so an id known before sign-in (fixation) never becomes
// a signed-in session. The new session starts a new absolute lifetime:
// sign-in is a fresh authentication.
func (s *Store) Renew(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	data, err := encode(sess.Values)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// No pool use inside: SQLite has one connection, the transaction holds it.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("renew session: %w", err)
	}
	defer tx.Rollback()
	old := sess.ID
	if old != "" {
		if err := s.delete(ctx, tx, sess.ID); err != nil {
			return fmt.Errorf("renew session: %w", err)
		}
	}
	c, err := s.create(ctx, tx, sess, data, s.opts.Now())
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		s.reset(sess)
		return fmt.Errorf("renew session: %w", err)
	}
	// Only after Commit: a failed renewal must not hand the browser an id
	// that has no row.
	http.SetCookie(w, c)
	s.expireBare(w, r)
	if old == "" {
		return nil
	}
	s.cache.drop(old)
	return s.publish(ctx, topicSession, old)
}

// Destroy deletes the session server-side, expires its cookie and leaves
// sess empty and new.
func (s *Store) Destroy(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	hash := sess.ID
	if hash != "" {
		if err := s.delete(r.Context(), s.db, hash); err != nil {
			return fmt.Errorf("destroy session: %w", err)
		}
		s.cache.drop(hash)
	}
	s.reset(sess)
	http.SetCookie(w, s.expiredCookie())
	s.expireBare(w, r)
	if hash == "" {
		return nil
	}
	return s.publish(r.Context(), topicSession, hash)
}

// RevokeUser deletes every session of userID; the next request with any of
// their cookies is signed out. An empty userID revokes nothing (it would
// otherwise match every anonymous session).
func (s *Store) RevokeUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	s.cache.dropUser(userID)
	n, err := rowsAffected(res, "revoke sessions of "+userID)
	if err != nil {
		return 0, err
	}
	// Told even when no row was deleted here: another replica may still
	// hold one read before a revocation that raced with this one.
	if err := s.publish(ctx, topicUser, userID); err != nil {
		return n, fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	return n, nil
}

// CountActive returns how many live sessions each of userIDs has, in one
// grouped query; people with none are absent from the map. A session past
// its idle or absolute expiry is not counted, even before DeleteExpired
// removes it.
func (s *Store) CountActive(ctx context.Context, userIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	now := s.opts.Now()
	args := []any{now.UnixMilli(), now.Add(-s.opts.AbsoluteTimeout).UnixMilli(), now.Add(-s.opts.IdleTimeout).UnixMilli()}
	for _, id := range userIDs {
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT user_id, COUNT(*) FROM sessions
		WHERE expires_at >= $1 AND created_at >= $2 AND last_seen_at >= $3 AND user_id IN (`+database.Placeholders(4, len(userIDs))+`)
		GROUP BY user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count sessions: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	return out, nil
}

// DeleteExpired removes rows past their idle or absolute expiry. Expiry is
// enforced on load regardless; this only reclaims space.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	now := s.opts.Now()
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM sessions WHERE expires_at < $1 OR created_at < $2 OR last_seen_at < $3`,
		now.UnixMilli(), now.Add(-s.opts.AbsoluteTimeout).UnixMilli(), now.Add(-s.opts.IdleTimeout).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return rowsAffected(res, "delete expired sessions")
}

func rowsAffected(res sql.Result, what string) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}

// execer is what create and delete need from *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) delete(ctx context.Context, db execer, hash string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, hash)
	return err
}

// create stores data under a new random id and returns the cookie that
// carries it.
func (s *Store) create(ctx context.Context, db execer, sess *sessions.Session, data []byte, now time.Time) (*http.Cookie, error) {
	var raw [idBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("new session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	hash := hashID(id)
	_, err := db.ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, data, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, userID(sess.Values), data, now.UnixMilli(), now.UnixMilli(), now.Add(s.opts.AbsoluteTimeout).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	sess.ID = hash
	sess.IsNew = false
	sess.Values[metaKey{}] = &meta{loaded: data, lastSeen: now}
	opts := s.cookieOptions()
	if sess.Options != nil && sess.Options.MaxAge == 0 {
		opts.MaxAge = 0 // the app asked for a browser-session cookie
	}
	return sessions.NewCookie(s.cookie, id+"."+s.sign(id), opts), nil
}

// reset makes sess a fresh, empty, unsaved session.
func (s *Store) reset(sess *sessions.Session) {
	sess.ID = ""
	sess.IsNew = true
	sess.Values = make(map[any]any)
	sess.Options = s.cookieOptions()
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

func (s *Store) expiredCookie() *http.Cookie { return s.expired(s.cookie) }

func (s *Store) expired(name string) *http.Cookie {
	opts := s.cookieOptions()
	opts.MaxAge = -1
	return sessions.NewCookie(name, "", opts)
}

// moveCookie gives the browser the session it presented under the bare
// name under the prefixed one too: the same id, so the session and its
// row stay as they are, and the same remaining lifetime. The bare cookie
// is left to lapse, or to go at the next renewal or sign-out: during a
// rolling deploy, replicas of the release before read only that one.
func (s *Store) moveCookie(w http.ResponseWriter, m *meta, now time.Time) {
	opts := s.cookieOptions()
	opts.MaxAge = max(int((m.expires.Sub(now)+time.Second-1)/time.Second), 1)
	http.SetCookie(w, sessions.NewCookie(s.cookie, m.moveID+"."+s.sign(m.moveID), opts))
	m.moveID = ""
}

// expireBare deletes the bare-named session cookie the request carried
// (from before the __Host- prefix), which would otherwise outlive a
// session renewed or destroyed under the prefixed name.
func (s *Store) expireBare(w http.ResponseWriter, r *http.Request) {
	if s.bareCookie == "" {
		return
	}
	if _, err := r.Cookie(s.bareCookie); err == nil {
		http.SetCookie(w, s.expired(s.bareCookie))
	}
}

// sign signs a session id with the current secret.
func (s *Store) sign(id string) string { return sign(s.secrets[0], id) }

func sign(secret []byte, id string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify accepts an id signed with the current or the previous secret.
func (s *Store) verify(value string) (string, bool) {
	id, sig, ok := strings.Cut(value, ".")
	if !ok || len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return "", false
	}
	for _, secret := range s.secrets {
		if hmac.Equal([]byte(sig), []byte(sign(secret, id))) {
			return id, true
		}
	}
	return "", false
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func userID(values map[any]any) string {
	id, _ := values[UserIDKey].(string)
	return id
}
