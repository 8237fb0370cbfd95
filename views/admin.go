package views

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// SyncView is the /admin/sync page: webhook intake and the sync queue.
type SyncView struct {
	Counts []CountRow
	Events []EventRow
	Jobs   []JobRow
	// ShowIgnored lists ignored deliveries among the recent events; they
	// are hidden by default. IgnoredLast24h is how many there were.
	ShowIgnored    bool
	IgnoredLast24h int
}

// CountRow is one outcome of webhook deliveries.
type CountRow struct {
	Kind    string // accepted, ignored, test, stale, future, duplicate, rejected_signature, malformed, rate_limited
	Last24h int
	Total   int
	// PerReplica: counted in this server's memory since it started (the
	// rejected deliveries, which cost no database write), not shared by
	// replicas.
	PerReplica bool
}

// Person is someone a row is about: the id always, the name or email when
// reportgate knows them.
type Person struct {
	ID   string
	Name string // "" when unknown
}

// EventRow is one recorded webhook event (no payload, nothing secret).
type EventRow struct {
	At      string
	Event   string
	User    Person
	Outcome string
}

// JobRow is one pending or failed sync job.
type JobRow struct {
	ID        int64
	User      Person
	State     string
	Attempts  int
	LastError string
	At        string
	Retryable bool
}

// UsersView is the /admin/users page: one page of people, found by Search.
type UsersView struct {
	Users  []UserRow
	Roles  []string
	Search string
	// Page is this page's number (from 1); Total counts every match, From
	// and To the ones shown (1-based, inclusive; 0 when none).
	Page, Total, From, To int
	PrevURL, NextURL      string // "" when there is no such page
}

// UserRow is one person with their sync state, role and live sessions.
type UserRow struct {
	ID        string
	Name      string
	Email     string
	SyncState string
	Role      string // "" = none
	Sessions  int
}

// ConfirmView asks an admin to confirm removing their own admin role.
type ConfirmView struct {
	UserID string
	Role   string // the new role, "" = none
	Search string // where to return to
	Page   int
}

// CountLabel names an outcome of webhook deliveries for people.
func CountLabel(kind string) string {
	switch kind {
	case "accepted":
		return "Accepted"
	case "ignored":
		return "Ignored"
	case "test":
		return "Test deliveries"
	case "stale":
		return "Too old"
	case "future":
		return "Dated ahead"
	case "duplicate":
		return "Duplicates"
	case "rejected_signature":
		return "Bad signature"
	case "malformed":
		return "Malformed"
	case "rate_limited":
		return "Rate limited"
	}
	return kind
}

// countHelp says what an outcome's deliveries were.
func countHelp(kind string) string {
	switch kind {
	case "accepted":
		return "Events that changed someone and were queued for sync."
	case "ignored":
		return "Events reportgate does not act on, such as PostSignIn."
	case "test":
		return "Test payloads sent from the Logto console."
	case "stale":
		return "Events older than the accepted age."
	case "future":
		return "Events dated more than 5 minutes ahead."
	case "duplicate":
		return "Deliveries of an event already received."
	case "rejected_signature":
		return "Deliveries whose signature did not match: forged or a wrong key."
	case "malformed":
		return "Signed deliveries that could not be read."
	case "rate_limited":
		return "Rejected deliveries refused for coming too often."
	}
	return ""
}

// StateLabel names a sync or job state for people.
func StateLabel(state string) string {
	switch state {
	case "available", "queued":
		return "Queued"
	case "retryable":
		return "Will retry"
	case "discarded":
		return "Gave up"
	case "":
		return "Unknown"
	}
	return strings.ToUpper(state[:1]) + state[1:]
}

// StateTone picks the badge tone for a sync state.
func StateTone(state string) string {
	switch state {
	case "synced", "completed", "accepted":
		return ToneOK
	case "failed", "discarded", "cancelled", "rejected_signature", "malformed", "rate_limited":
		return ToneDanger
	case "queued", "pending", "available", "retryable", "running", "scheduled":
		return ToneWarn
	}
	return ToneNeutral
}

// RoleAction is where the role form of person id posts.
func RoleAction(id string) templ.SafeURL {
	return templ.SafeURL("/admin/users/" + pathSegment(id) + "/role")
}

// SignOutAction is where the "Sign out everywhere" button of person id
// posts.
func SignOutAction(id string) templ.SafeURL {
	return templ.SafeURL("/admin/users/" + pathSegment(id) + "/sign-out")
}

// RetryAction is where the retry button of sync job id posts.
func RetryAction(id int64) templ.SafeURL {
	return templ.SafeURL("/admin/sync/jobs/" + strconv.FormatInt(id, 10) + "/retry")
}

// UsersURL is the /admin/users page number page of the search (page 1 and
// an empty search are left out).
func UsersURL(search string, page int) string {
	return pagedURL("/admin/users", page, "q", search)
}

// pagedURL is path with, in its query, each of params (name, value pairs)
// whose value is not empty, and page when past the first.
func pagedURL(path string, page int, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			q.Set(params[i], params[i+1])
		}
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// sessionsText says how many live sessions a person has.
func sessionsText(n int) string {
	switch n {
	case 0:
		return "None"
	case 1:
		return "1 active"
	}
	return strconv.Itoa(n) + " active"
}

// roleLabel names a role for the confirmation ("" = no role).
func roleLabel(role string) string {
	if role == "" {
		return "no role"
	}
	return "the " + role + " role"
}

// pathSegment escapes s as one segment of a URL path, so an id can never
// reach another path or add a query: url.PathEscape escapes '/', '?' and
// '%', and the dots of a "." or ".." segment, which a browser would resolve
// as this or the parent directory, are escaped too.
func pathSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}
