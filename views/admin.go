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
	Notice string // e.g. "Job 12 queued again."
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

// EventRow is one recorded webhook event (no payload, nothing secret).
type EventRow struct {
	At      string
	Event   string
	UserID  string
	Outcome string
}

// JobRow is one pending or failed sync job.
type JobRow struct {
	ID        int64
	UserID    string
	State     string
	Attempts  int
	LastError string
	At        string
	Retryable bool
}

// UsersView is the /admin/users page.
type UsersView struct {
	Users  []UserRow
	Roles  []string
	Notice string
}

// UserRow is one person with their sync state and role.
type UserRow struct {
	ID        string
	Name      string
	Email     string
	SyncState string
	Role      string // "" = none
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

// RetryAction is where the retry button of sync job id posts.
func RetryAction(id int64) templ.SafeURL {
	return templ.SafeURL("/admin/sync/jobs/" + strconv.FormatInt(id, 10) + "/retry")
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
