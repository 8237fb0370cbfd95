// Package views holds reportgate's templ components and the view-model
// structs they render. Views only present data handed to them by handlers:
// no business logic, no database or SDK calls.
package views

import (
	"strconv"
	"strings"
)

// Page is what the layout needs on every page.
type Page struct {
	Title   string
	CSSURL  string // content-hashed URL of app.css (static.Assets.URL("app.css"))
	LogoURL string // content-hashed URL of logo.svg
	User    *User  // nil when signed out
	Path    string // current request path, for nav highlighting
	Flash   string // optional one-line notice, e.g. "You are signed out."
	// Admin is the nav's admin entry; nil for people who may use no admin
	// page (and whenever that is not known).
	Admin *AdminNav
}

// AdminNav says which admin pages the person may use.
type AdminNav struct {
	Users bool // users:manage: /admin/users
	Sync  bool // sync:manage: /admin/sync
	// FailedJobs is the number of sync jobs that gave up, for the nav
	// badge; only counted for Sync.
	FailedJobs int
	// OpenRequests is the number of open access requests, for the nav
	// badge; only counted for Users.
	OpenRequests int
	Audit        bool // audit:view: /admin/audit
}

// Href is the admin page the nav entry opens: People when allowed, else
// User sync.
func (a AdminNav) Href() string {
	switch {
	case a.Users:
		return "/admin/users"
	case a.Sync:
		return "/admin/sync"
	}
	return "/admin/audit"
}

// User is the signed-in person as the views show them.
type User struct {
	Name  string
	Email string
}

// DisplayName is the name to show for u: the name, or the email when the
// name is empty (Logto accounts created with email only have no name).
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// ErrorView describes an error page. Message is written for people; it must
// never carry internals such as err.Error().
type ErrorView struct {
	Status    int    // HTTP status, shown and put in data-status
	Title     string // e.g. "Page not found"
	Message   string // helpful, human text
	RequestID string // shown small for support ("Reference: …") when non-empty
	Action    *Link  // optional primary action
}

// Link is a labelled destination.
type Link struct {
	Href  string
	Label string
}

// Badge tones accepted by Badge; anything else renders as ToneNeutral.
const (
	ToneOK      = "ok"
	ToneWarn    = "warn"
	ToneDanger  = "danger"
	ToneNeutral = "neutral"
)

// badgeClass maps a tone to its CSS class, so an unknown tone cannot
// produce an unstyled (or injected) class name.
func badgeClass(tone string) string {
	switch tone {
	case ToneOK, ToneWarn, ToneDanger:
		return "badge badge-" + tone
	default:
		return "badge badge-neutral"
	}
}

// navItems lists the header links for the given signed-in state.
func navItems(signedIn bool) []Link {
	items := []Link{{Href: "/", Label: "Home"}}
	if signedIn {
		items = append(items, Link{Href: "/reports", Label: "Reports"})
	}
	return items
}

// isCurrent reports whether the nav link href is the current section:
// "/" only matches exactly; other links also match their sub-paths.
func isCurrent(path, href string) bool {
	if href == "/" {
		return path == "/"
	}
	return path == href || strings.HasPrefix(path, href+"/")
}

// showHomeLink reports whether the error page needs its own "Back to home"
// link: not when the primary action already goes home.
func (e ErrorView) showHomeLink() bool {
	return e.Action == nil || e.Action.Href != "/"
}

// pageTitle is the document title: "<title> · reportgate", or just the
// product name when the page has no title.
func pageTitle(title string) string {
	if title == "" {
		return "reportgate"
	}
	return title + " · reportgate"
}

// initial is the first letter of name, upper-cased, for the avatar.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// Plural is n and noun, with an "s" unless n is 1: "1 session",
// "3 failed sync jobs".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// HomeView is what the signed-in home page offers.
type HomeView struct {
	CanViewReports bool // reports:view: offer "Open reports", else say what to do
}
