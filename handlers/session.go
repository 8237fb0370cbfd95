package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"

	"reportgate/internal/auth"
	"reportgate/internal/session"
)

const sessionName = "reportgate_session"

// logtoStorage adapts a gorilla session to the Logto SDK's Storage, which
// "deletes" by setting "".
type logtoStorage struct{ s *sessions.Session }

func (st logtoStorage) GetItem(key string) string {
	v, _ := st.s.Values[key].(string)
	return v
}

func (st logtoStorage) SetItem(key, value string) {
	if value == "" {
		delete(st.s.Values, key)
		return
	}
	st.s.Values[key] = value
}

// itemStorage is the Logto SDK's Storage over a plain map: the items of a
// sign-in in progress, which travel sealed in a cookie between /sign-in and
// /callback instead of in a session row.
type itemStorage map[string]string

func (st itemStorage) GetItem(key string) string { return st[key] }

func (st itemStorage) SetItem(key, value string) {
	if value == "" {
		delete(st, key)
		return
	}
	st[key] = value
}

// signedIn resolves the person behind a request.
type signedIn struct {
	auth     Authenticator
	sessions SessionStore
	pages    *pageRenderer
}

// resolve returns who is signed in (nil when nobody is) and saves the
// session, which touches it at most once a minute. A session whose sign-in
// ended (refresh refused by Logto) is cleared. Only a Logto outage or a
// database failure is an error.
func (s *signedIn) resolve(w http.ResponseWriter, r *http.Request) (*auth.Identity, error) {
	sess, err := s.sessions.Get(r, sessionName)
	if err != nil {
		return nil, err
	}
	var who *auth.Identity
	switch id, err := s.auth.CurrentUser(r.Context(), logtoStorage{sess}); {
	case errors.Is(err, auth.ErrSignedOut):
		if _, had := sess.Values[sessionUserKey]; had {
			clear(sess.Values)
		}
	case err != nil:
		return nil, err
	default:
		who = &id
	}
	if err := sess.Save(r, w); err != nil {
		return nil, err
	}
	return who, nil
}

// sessionUserKey records the signed-in user id so the store can revoke
// every session of a person.
const sessionUserKey = session.UserIDKey

// takeNotices returns the notices left for the person's next page, joined,
// and removes them ("" when there are none). A failure only costs the
// notice: the page still shows.
func (s *signedIn) takeNotices(w http.ResponseWriter, r *http.Request) string {
	sess, err := s.sessions.Get(r, sessionName)
	if err != nil {
		return ""
	}
	notices := session.TakeNotices(sess)
	if len(notices) == 0 {
		return ""
	}
	if err := sess.Save(r, w); err != nil {
		s.pages.logger.WarnContext(r.Context(), "take notices", "err", err)
	}
	return strings.Join(notices, " ")
}

// addNotice leaves text for the person's next page, in their session.
func (s *signedIn) addNotice(w http.ResponseWriter, r *http.Request, text string) error {
	sess, err := s.sessions.Get(r, sessionName)
	if err != nil {
		return err
	}
	session.AddNotice(sess, text)
	return sess.Save(r, w)
}
