package session

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

const (
	// NoticeTTL is how long a signed-out visitor's notice waits to be shown.
	NoticeTTL = 5 * time.Minute
	// maxNotice bounds a notice so its cookie stays small.
	maxNotice = 1024
	// noticeKey holds a signed-in person's notices in the session values.
	noticeKey = "_notice"
)

// SetNotice leaves text for the visitor's next page in a sealed cookie
// that lives NoticeTTL: for people who are not signed in, whose notices
// must not create a row.
func (s *Store) SetNotice(w http.ResponseWriter, text string) error {
	if len(text) > maxNotice {
		return fmt.Errorf("session: notice of %d bytes, at most %d", len(text), maxNotice)
	}
	now := s.opts.Now()
	s.notice.set(w, []byte(text), now, now.Add(NoticeTTL))
	return nil
}

// TakeNotice returns the notice SetNotice left ("" when there is none, or
// it expired or was tampered with) and deletes its cookie: it is shown once.
func (s *Store) TakeNotice(w http.ResponseWriter, r *http.Request) string {
	text, present, ok := s.notice.read(r, s.opts.Now())
	if present {
		s.notice.expire(w)
	}
	if !ok {
		return ""
	}
	return string(text)
}

// AddNotice queues text for a signed-in person's next page. It lives in
// the session values, saved with the session.
func AddNotice(sess *sessions.Session, text string) { sess.AddFlash(text, noticeKey) }

// TakeNotices returns and removes a signed-in person's queued notices,
// oldest first; the caller saves the session.
func TakeNotices(sess *sessions.Session) []string {
	var out []string
	for _, v := range sess.Flashes(noticeKey) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
