package views

import (
	"strconv"

	"github.com/a-h/templ"
)

// Access request states as the denied view shows them.
const (
	RequestAsk      = "ask"      // no open request: offer the form
	RequestPending  = "pending"  // open: waiting for an admin
	RequestDeclined = "declined" // declined less than 24 h ago
)

// AccessRequestView is the request part of the access-denied view.
type AccessRequestView struct {
	State      string // RequestAsk, RequestPending or RequestDeclined
	Permission string // e.g. "reports:view"
	ID         int64
	AskedOn    string // when the open request was made
	Note       string // the admin's note on a decline
	AskAgainOn string // when a declined person may ask again
	Return     string // where the form leads back to
}

// RequestRow is one access request on /admin/requests.
type RequestRow struct {
	ID         int64
	Person     Person
	Email      string
	Permission string
	Reason     string
	AskedOn    string
	Suggested  string   // the least-privileged role granting it
	Roles      []string // roles that grant it
	State      string
	Decision   string // who decided, and the note or role
}

// RequestsView is /admin/requests.
type RequestsView struct {
	Decided bool // the "decided" filter
	Rows    []RequestRow
}

// AuditRow is one audit entry.
type AuditRow struct {
	At         string
	ActorID    string
	Actor      string
	Action     string
	SubjectID  string
	Subject    string
	Role       string
	Permission string
	Detail     string
	RequestID  string
}

// AuditView is /admin/audit.
type AuditView struct {
	Person, Actor, Action string
	Rows                  []AuditRow
	From, To, Total       int
	PrevURL, NextURL      string
	CSVURL                string
}

// AuditURL is /admin/audit (or the CSV export, when path says so) with the
// filters and page in its query.
func AuditURL(path, person, actor, action string, page int) string {
	return pagedURL(path, page, "person", person, "actor", actor, "action", action)
}

// RequestAction is where an admin's decision on request id is posted.
func RequestAction(id int64, decision string) templ.SafeURL {
	return templ.SafeURL("/admin/requests/" + strconv.FormatInt(id, 10) + "/" + decision)
}

// WithdrawAction is where a requester withdraws request id.
func WithdrawAction(id int64) templ.SafeURL {
	return templ.SafeURL("/access-requests/" + strconv.FormatInt(id, 10) + "/withdraw")
}

// requestTone is the badge tone of a decided request's state.
func requestTone(state string) string {
	switch state {
	case "approved":
		return ToneOK
	case "declined", "failed":
		return ToneDanger
	case "approving":
		return ToneWarn
	}
	return ToneNeutral
}
