package logto

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// User is a Logto user as tests see it.
type User struct {
	ID           string          `json:"id"`
	Username     string          `json:"username,omitempty"`
	PrimaryEmail string          `json:"primaryEmail,omitempty"`
	PrimaryPhone string          `json:"primaryPhone,omitempty"`
	Name         string          `json:"name,omitempty"`
	Avatar       string          `json:"avatar,omitempty"`
	CustomData   json.RawMessage `json:"customData,omitempty"`
	Identities   json.RawMessage `json:"identities,omitempty"`
	Profile      json.RawMessage `json:"profile,omitempty"`
	// LastSignInAt is zero until the first sign-in.
	LastSignInAt  time.Time `json:"lastSignInAt"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	ApplicationID string    `json:"applicationId,omitempty"`
	IsSuspended   bool      `json:"isSuspended"`
	HasPassword   bool      `json:"hasPassword"`
}

// account is a User plus its password hash, as persisted.
type account struct {
	User
	PasswordHash string `json:"passwordHash,omitempty"`
}

var (
	errEmailInUse    = errors.New("email already in use")
	errUsernameInUse = errors.New("username already in use")
	errInvalidEmail  = errors.New("invalid email")
	errShortPassword = errors.New("password too short")
)

// minPasswordLength is Logto's default password policy minimum.
const minPasswordLength = 8

// UserByEmail finds a user by email, case-insensitively.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accountByEmailLocked(email); a != nil {
		return a.public(), true
	}
	return User{}, false
}

// lookupUser finds a user by id.
func (s *Server) lookupUser(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.st.accounts.m[id]; ok {
		return a.public(), true
	}
	return User{}, false
}

func (a *account) public() User {
	u := a.User
	u.HasPassword = a.PasswordHash != ""
	return u
}

// accountByEmailLocked finds an account by email, ignoring case.
func (s *Server) accountByEmailLocked(email string) *account {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return nil
	}
	return s.st.accounts.m[s.st.emails[email]]
}

func (s *Server) accountByUsernameLocked(username string) *account {
	if username == "" {
		return nil
	}
	return s.st.accounts.m[s.st.usernames[username]]
}

// checkUniqueLocked reports whether email or username (each when set)
// belongs to an account other than selfID ("" for a new account).
func (s *Server) checkUniqueLocked(email, username, selfID string) error {
	if email != "" {
		if o := s.accountByEmailLocked(email); o != nil && o.ID != selfID {
			return errEmailInUse
		}
	}
	if username != "" {
		if o := s.accountByUsernameLocked(username); o != nil && o.ID != selfID {
			return errUsernameInUse
		}
	}
	return nil
}

type accountInput struct {
	email, name, username, password, applicationID string
	// parts are validated user parts (customData, profile) to store.
	parts map[string]json.RawMessage
}

// createAccount validates and stores a new user.
func (s *Server) createAccount(in accountInput) (User, error) {
	in.email = strings.TrimSpace(in.email)
	if in.email != "" && !validEmail(in.email) {
		return User{}, errInvalidEmail
	}
	var hash string
	if in.password != "" {
		var err error
		if hash, err = hashPassword(in.password, s.cfg.PasswordIterations); err != nil {
			return User{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkUniqueLocked(in.email, in.username, ""); err != nil {
		return User{}, err
	}
	now := s.now().Truncate(time.Millisecond)
	a := &account{User: User{
		Username: in.username, PrimaryEmail: in.email, Name: in.name,
		CreatedAt: now, UpdatedAt: now, ApplicationID: in.applicationID,
	}, PasswordHash: hash}
	for key, raw := range in.parts {
		*a.part(key) = raw
	}
	s.st.addAccount(a)
	s.persist()
	return a.public(), nil
}

// addAccount gives a a fresh id and stores and indexes it.
func (st *state) addAccount(a *account) {
	a.ID = randomString(lowerAlnum, 12) // Logto user ids: 12 chars [0-9a-z]
	for st.accounts.m[a.ID] != nil {
		a.ID = randomString(lowerAlnum, 12)
	}
	st.accounts.set(a.ID, a)
	st.indexAccount(a, true)
}

// validEmail accepts a bare address with a domain, as Logto's email regex does.
func validEmail(email string) bool {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return false
	}
	_, domain, _ := strings.Cut(email, "@")
	return strings.Contains(domain, ".") || domain == "localhost"
}

// hashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<hash>", so a
// changed cost setting never invalidates existing accounts.
func hashPassword(password string, iterations int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(sum), nil
}

func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iterations, err := strconv.Atoi(parts[1])
	if err != nil || iterations <= 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iterations, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// authenticate checks an email and password. The hash is computed outside
// the lock; the account is re-read afterwards.
func (s *Server) authenticate(email, password string) (User, error) {
	s.mu.Lock()
	a := s.accountByEmailLocked(email)
	var hash string
	if a != nil {
		hash = a.PasswordHash
	}
	s.mu.Unlock()
	if a == nil || hash == "" || !checkPassword(hash, password) {
		return User{}, errWrongCredentials
	}
	u, ok := s.lookupUser(a.ID)
	if !ok {
		return User{}, errWrongCredentials
	}
	if u.IsSuspended {
		return User{}, errSuspended
	}
	return u, nil
}

var (
	errWrongCredentials = errors.New("wrong email or password")
	errSuspended        = errors.New("account suspended")
)

// userJSON is Logto's user object: userInfoSelectFields in their order,
// timestamps in epoch milliseconds, unset strings null.
type userJSON struct {
	ID            string          `json:"id"`
	Username      *string         `json:"username"`
	PrimaryEmail  *string         `json:"primaryEmail"`
	PrimaryPhone  *string         `json:"primaryPhone"`
	Name          *string         `json:"name"`
	Avatar        *string         `json:"avatar"`
	CustomData    json.RawMessage `json:"customData"`
	Identities    json.RawMessage `json:"identities"`
	LastSignInAt  *int64          `json:"lastSignInAt"`
	CreatedAt     int64           `json:"createdAt"`
	UpdatedAt     int64           `json:"updatedAt"`
	Profile       json.RawMessage `json:"profile"`
	ApplicationID *string         `json:"applicationId"`
	IsSuspended   bool            `json:"isSuspended"`
}

// userWithPassword is what the Management API returns (and what its
// webhooks carry as data): the user object plus hasPassword, last.
type userWithPassword struct {
	userJSON
	HasPassword bool `json:"hasPassword"`
}

func (u User) wire() userJSON {
	j := userJSON{
		ID: u.ID, Username: nullable(u.Username), PrimaryEmail: nullable(u.PrimaryEmail),
		PrimaryPhone: nullable(u.PrimaryPhone), Name: nullable(u.Name), Avatar: nullable(u.Avatar),
		CustomData: emptyObject(u.CustomData), Identities: emptyObject(u.Identities),
		CreatedAt: u.CreatedAt.UnixMilli(), UpdatedAt: u.UpdatedAt.UnixMilli(),
		Profile: emptyObject(u.Profile), ApplicationID: nullable(u.ApplicationID), IsSuspended: u.IsSuspended,
	}
	if !u.LastSignInAt.IsZero() {
		ms := u.LastSignInAt.UnixMilli()
		j.LastSignInAt = &ms
	}
	return j
}

func (u User) wireWithPassword() userWithPassword {
	return userWithPassword{userJSON: u.wire(), HasPassword: u.HasPassword}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func emptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`{}`)
	}
	return raw
}
