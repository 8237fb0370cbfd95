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
	"strings"
	"time"

	"reportgate/internal/devstack/jsonlog"
)

// stateFile is the log the stand-in keeps in Config.DataDir (see
// jsonlog): one line per request that changed something, a list of the
// records it changed (a null value is a deletion). Its first line holds
// the hook id and signing key.
const stateFile = "logto-standin.jsonl"

// legacyFile is the whole-file state older stand-ins rewrote on every
// change; when there is no log yet it is read once, then removed.
const legacyFile = "logto-standin.json"

// pruneEvery spaces out the sweep for expired sessions and tokens, which
// looks at every one of them.
const pruneEvery = time.Minute

// state is everything the stand-in knows. What a restart keeps is in
// tables, whose changes are logged; authorization codes, pending
// interactions and logout confirmations are short-lived and stay in
// memory, as a restart of Logto's engine would also invalidate most of
// them.
type state struct {
	dir string

	HookID     string
	SigningKey []byte // PKCS#8 DER
	accounts   table[*account]
	sessions   table[*session]
	grants     table[*grant]
	refresh    table[*refreshToken]
	access     table[*accessToken]
	// emails (lower-cased) and usernames → account id, so uniqueness
	// checks do not scan every account.
	emails       map[string]string
	usernames    map[string]string
	codes        map[string]*authCode
	interactions map[string]*interaction
	logouts      map[string]*logoutRequest

	// tables names the persisted tables as the log does; built once, as
	// every request that changes something walks it.
	tables    map[string]logged
	log       *jsonlog.Log // nil when in memory only
	lastPrune time.Time
}

// table is a persisted map that remembers which keys changed since the
// last flush. Reads use m directly; every change goes through set or del,
// and a record is replaced, never changed in place, so a compaction can
// write the records it captured while requests go on.
type table[T any] struct {
	m     map[string]T
	dirty map[string]bool
}

func newTable[T any]() table[T] { return table[T]{m: map[string]T{}, dirty: map[string]bool{}} }

func (t *table[T]) set(k string, v T) { t.m[k] = v; t.dirty[k] = true }
func (t *table[T]) del(k string)      { delete(t.m, k); t.dirty[k] = true }

// entry is one record in the log.
type entry struct {
	Table string          `json:"t"`
	Key   string          `json:"k,omitempty"`
	Value json.RawMessage `json:"v"` // null: deleted
}

type metaRecord struct {
	HookID     string `json:"hookId"`
	SigningKey []byte `json:"signingKey"`
}

const metaTable = "meta"

// logged is what the log needs from a table.
type logged interface {
	// changes appends an entry per key changed since the last call.
	changes(name string, out []entry) ([]entry, error)
	// freeze captures the records; the function it returns emits an entry
	// per record as they were.
	freeze(name string) func(emit func(entry) error) error
	// apply replays one entry.
	apply(key string, raw json.RawMessage) error
	// forget clears the changed keys without logging them.
	forget()
}

func (t *table[T]) forget() { clear(t.dirty) }

func (t *table[T]) changes(name string, out []entry) ([]entry, error) {
	for k := range t.dirty {
		raw := json.RawMessage("null")
		if v, ok := t.m[k]; ok {
			var err error
			if raw, err = json.Marshal(v); err != nil {
				return out, err
			}
		}
		out = append(out, entry{name, k, raw})
	}
	clear(t.dirty)
	return out, nil
}

func (t *table[T]) freeze(name string) func(emit func(entry) error) error {
	type record struct {
		key   string
		value T
	}
	records := make([]record, 0, len(t.m))
	for k, v := range t.m {
		records = append(records, record{k, v})
	}
	return func(emit func(entry) error) error {
		for _, r := range records {
			raw, err := json.Marshal(r.value)
			if err != nil {
				return err
			}
			if err := emit(entry{name, r.key, raw}); err != nil {
				return err
			}
		}
		return nil
	}
}

func (t *table[T]) apply(key string, raw json.RawMessage) error {
	if string(raw) == "null" {
		delete(t.m, key)
		return nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	t.m[key] = v
	return nil
}

// legacySnapshot is the whole-file format older stand-ins wrote.
type legacySnapshot struct {
	HookID        string          `json:"hookId"`
	SigningKey    []byte          `json:"signingKey"`
	Accounts      []*account      `json:"accounts"`
	Sessions      []*session      `json:"sessions"`
	Grants        []*grant        `json:"grants"`
	RefreshTokens []*refreshToken `json:"refreshTokens"`
	AccessTokens  []*accessToken  `json:"accessTokens"`
}

// loadState reads the log in dir, or else the legacy file, or else starts
// empty. The caller compacts it, which also opens the log for appending.
func loadState(dir string) (*state, error) {
	st := &state{
		dir:      dir,
		accounts: newTable[*account](), sessions: newTable[*session](), grants: newTable[*grant](),
		refresh: newTable[*refreshToken](), access: newTable[*accessToken](),
		emails: map[string]string{}, usernames: map[string]string{},
		codes: map[string]*authCode{}, interactions: map[string]*interaction{}, logouts: map[string]*logoutRequest{},
	}
	st.tables = map[string]logged{
		"accounts": &st.accounts, "sessions": &st.sessions, "grants": &st.grants,
		"refreshTokens": &st.refresh, "accessTokens": &st.access,
	}
	if dir != "" {
		st.log = jsonlog.New(dir, stateFile)
		found, err := st.replay()
		if err == nil && !found {
			err = st.loadLegacy()
		}
		if err != nil {
			return nil, err
		}
	}
	if st.HookID == "" {
		st.HookID = randomString(lowerAlnum, 21) // Logto hook ids: 21 chars [0-9a-z]
	}
	for _, a := range st.accounts.m {
		st.indexAccount(a, true)
	}
	return st, nil
}

// replay applies the log, reporting whether there was one.
func (st *state) replay() (bool, error) {
	found, err := st.log.Replay(func(line []byte) error {
		var entries []entry
		if err := json.Unmarshal(line, &entries); err != nil {
			return err
		}
		for _, e := range entries {
			if err := st.applyEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("parse state: %w", err)
	}
	return found, nil
}

func (st *state) applyEntry(e entry) error {
	if e.Table == metaTable {
		var m metaRecord
		if err := json.Unmarshal(e.Value, &m); err != nil {
			return err
		}
		st.HookID, st.SigningKey = m.HookID, m.SigningKey
		return nil
	}
	t, ok := st.tables[e.Table]
	if !ok {
		return fmt.Errorf("unknown table %q", e.Table)
	}
	return t.apply(e.Key, e.Value)
}

func (st *state) loadLegacy() error {
	path := filepath.Join(st.dir, legacyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	var snap legacySnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	st.HookID, st.SigningKey = snap.HookID, snap.SigningKey
	fill(&st.accounts, snap.Accounts, func(a *account) string { return a.ID })
	fill(&st.sessions, snap.Sessions, func(x *session) string { return x.ID })
	fill(&st.grants, snap.Grants, func(g *grant) string { return g.ID })
	fill(&st.refresh, snap.RefreshTokens, func(t *refreshToken) string { return t.Value })
	fill(&st.access, snap.AccessTokens, func(t *accessToken) string { return t.Value })
	return nil
}

func fill[T any](t *table[T], items []T, key func(T) string) {
	for _, it := range items {
		t.m[key(it)] = it
	}
}

// compact writes the live state as a fresh log, which later changes are
// appended to. The legacy file, once its content is in the log, is removed.
func (st *state) compact() error {
	for _, t := range st.tables {
		t.forget() // all of it is written below
	}
	if st.log == nil {
		return nil
	}
	if err := st.log.Compact(st.freeze()); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Remove(filepath.Join(st.dir, legacyFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s after migrating it: %w", legacyFile, err)
	}
	return nil
}

// freeze captures the state and returns a dump of it, meta first, that
// can run without the lock.
func (st *state) freeze() func(emit func(any) error) error {
	meta := metaRecord{st.HookID, st.SigningKey}
	var tables []func(emit func(entry) error) error
	for name, t := range st.tables {
		tables = append(tables, t.freeze(name))
	}
	return func(emit func(any) error) error {
		raw, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		if err := emit([]entry{{Table: metaTable, Value: raw}}); err != nil {
			return err
		}
		for _, dump := range tables {
			if err := dump(func(e entry) error { return emit([]entry{e}) }); err != nil {
				return err
			}
		}
		return nil
	}
}

// flush appends what changed since the last flush as one line: write(2)
// before the caller answers, so a killed process keeps every change it
// acknowledged (no fsync: only the machine going down loses data). When
// the log is due, it is compacted in the background; a failure there goes
// to onCompactError and only leaves a longer log.
func (st *state) flush(now time.Time, onCompactError func(error)) error {
	if now.Sub(st.lastPrune) >= pruneEvery {
		st.prune(now)
		st.lastPrune = now
	}
	if st.log == nil {
		for _, t := range st.tables {
			t.forget()
		}
		return nil
	}
	var entries []entry
	for name, t := range st.tables {
		var err error
		if entries, err = t.changes(name, entries); err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if err := st.log.Append(entries); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if st.log.Due() {
		st.log.CompactInBackground(st.freeze(), onCompactError)
	}
	return nil
}

func (st *state) close() error { return st.log.Close() }

// persist logs the changes a request made; a failed write is logged, not
// fatal, as the in-memory state is still right for the running process.
func (s *Server) persist() {
	err := s.st.flush(s.now(), func(err error) { s.log.Error("compact state", "err", err) })
	if err != nil {
		s.log.Error("persist state", "err", err)
	}
}

// indexAccount adds a's email and username to the lookup indexes, or
// (on false) removes them.
func (st *state) indexAccount(a *account, on bool) {
	email := strings.ToLower(a.PrimaryEmail)
	for _, ix := range []struct {
		m   map[string]string
		key string
	}{{st.emails, email}, {st.usernames, a.Username}} {
		switch {
		case ix.key == "":
		case on:
			ix.m[ix.key] = a.ID
		case ix.m[ix.key] == a.ID:
			delete(ix.m, ix.key)
		}
	}
}

// prune drops expired entries so the log does not grow forever.
// Consumed refresh tokens are kept until they expire: reuse detection
// needs them.
func (st *state) prune(now time.Time) {
	expired := func(t time.Time) bool { return !now.Before(t) }
	for id, x := range st.sessions.m {
		if expired(x.ExpiresAt) {
			st.sessions.del(id)
		}
	}
	for id, g := range st.grants.m {
		if expired(g.ExpiresAt) {
			st.revokeGrant(id)
		}
	}
	for k, t := range st.refresh.m {
		if expired(t.ExpiresAt) {
			st.refresh.del(k)
		}
	}
	for k, t := range st.access.m {
		if expired(t.ExpiresAt) {
			st.access.del(k)
		}
	}
	maps.DeleteFunc(st.codes, func(_ string, c *authCode) bool { return expired(c.ExpiresAt) })
	maps.DeleteFunc(st.interactions, func(_ string, i *interaction) bool { return expired(i.ExpiresAt) })
	maps.DeleteFunc(st.logouts, func(_ string, l *logoutRequest) bool { return expired(l.ExpiresAt) })
}

// signingKey returns the tenant's P-384 key, creating it on first start:
// Logto's default key is EC secp384r1 → ES384.
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
