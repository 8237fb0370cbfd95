package handlers

import (
	"errors"
	"net/http"

	"github.com/gorilla/sessions"

	"reportgate/internal/auth"
	"reportgate/internal/session"
)

const sessionName = "reportgate_session"

// Session keys besides the Logto SDK's own storage items.
const returnToKey = "return_to"

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

// signedIn resolves the person behind a request.
type signedIn struct {
	auth     Authenticator
	sessions SessionStore
	pages    *pageRenderer
}

// load returns the request's session and, when someone is signed in, who
// it is. A session whose sign-in ended (refresh refused by Logto) is
// cleared. Only a Logto outage is an error.
func (s *signedIn) load(w http.ResponseWriter, r *http.Request) (*sessions.Session, *auth.Identity, error) {
	sess, err := s.sessions.Get(r, sessionName)
	if err != nil {
		return nil, nil, err
	}
	who, err := s.auth.CurrentUser(r.Context(), logtoStorage{sess})
	switch {
	case errors.Is(err, auth.ErrSignedOut):
		if _, had := sess.Values[sessionUserKey]; had {
			clear(sess.Values)
		}
		return sess, nil, nil
	case err != nil:
		return sess, nil, err
	}
	return sess, &who, nil
}

// sessionUserKey records the signed-in user id so the store can revoke
// every session of a person.
const sessionUserKey = session.UserIDKey
