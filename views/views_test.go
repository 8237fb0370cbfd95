package views

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

// mustRender renders c and parses the HTML, failing the test on any error.
func mustRender(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// byTestID selects elements by data-testid.
func byTestID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

// mustOne returns the single element with the test id, failing otherwise.
func mustOne(t *testing.T, doc *goquery.Document, id string) *goquery.Selection {
	t.Helper()
	s := byTestID(doc, id)
	if s.Length() != 1 {
		t.Fatalf("data-testid=%q: found %d elements, want 1", id, s.Length())
	}
	return s
}

func text(s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }

func basePage() Page {
	return Page{
		Title:   "Home",
		CSSURL:  "/static/app.0123456789ab.css",
		LogoURL: "/static/logo.0123456789ab.svg",
		Path:    "/",
	}
}

func TestLayoutTitleAndAssets(t *testing.T) {
	tests := []struct {
		name, title, want string
	}{
		{"with title", "Reports", "Reports · reportgate"},
		{"without title", "", "reportgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePage()
			p.Title = tt.title
			doc := mustRender(t, HomePage(p, HomeView{CanViewReports: true}))
			if got := doc.Find("head title").Text(); got != tt.want {
				t.Errorf("title = %q, want %q", got, tt.want)
			}
			if got, _ := doc.Find(`head link[rel="stylesheet"]`).Attr("href"); got != p.CSSURL {
				t.Errorf("stylesheet href = %q, want %q", got, p.CSSURL)
			}
			if got, _ := doc.Find("html").Attr("lang"); got != "en" {
				t.Errorf("html lang = %q, want en", got)
			}
			if doc.Find(`meta[name="viewport"]`).Length() != 1 {
				t.Error("missing viewport meta")
			}
			if got, _ := doc.Find(".brand img").Attr("src"); got != p.LogoURL {
				t.Errorf("logo src = %q, want %q", got, p.LogoURL)
			}
		})
	}
}

func TestLayoutSignedIn(t *testing.T) {
	tests := []struct {
		name     string
		user     User
		wantName string
	}{
		{"shows name", User{Name: "Ada Lovelace", Email: "ada@example.com"}, "Ada Lovelace"},
		{"falls back to email", User{Email: "ada@example.com"}, "ada@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePage()
			p.User = &tt.user
			doc := mustRender(t, HomePage(p, HomeView{CanViewReports: true}))

			if got := text(mustOne(t, doc, "user-name")); got != tt.wantName {
				t.Errorf("user-name = %q, want %q", got, tt.wantName)
			}

			btn := mustOne(t, doc, "sign-out")
			if !btn.Is("button") {
				t.Errorf("sign-out is <%s>, want <button>", goquery.NodeName(btn))
			}
			if typ, _ := btn.Attr("type"); typ != "submit" {
				t.Errorf("sign-out button type = %q, want submit", typ)
			}
			form := btn.Closest("form")
			if form.Length() != 1 {
				t.Fatal("sign-out button is not inside a form")
			}
			if m, _ := form.Attr("method"); !strings.EqualFold(m, "post") {
				t.Errorf("sign-out form method = %q, want post", m)
			}
			if a, _ := form.Attr("action"); a != "/sign-out" {
				t.Errorf("sign-out form action = %q, want /sign-out", a)
			}

			for _, id := range []string{"sign-in", "sign-up"} {
				if n := byTestID(doc, id).Length(); n != 0 {
					t.Errorf("signed in but found %d %s elements", n, id)
				}
			}
			if doc.Find(`nav a[href="/reports"]`).Length() != 1 {
				t.Error("signed-in nav has no Reports link")
			}
		})
	}
}

func TestLayoutSignedOut(t *testing.T) {
	doc := mustRender(t, Layout(basePage()))

	for id, href := range map[string]string{"sign-in": "/sign-in", "sign-up": "/sign-up"} {
		s := mustOne(t, doc, id)
		if !s.Is("a") {
			t.Errorf("%s is <%s>, want <a>", id, goquery.NodeName(s))
		}
		if got, _ := s.Attr("href"); got != href {
			t.Errorf("%s href = %q, want %q", id, got, href)
		}
	}
	for _, id := range []string{"user-name", "sign-out"} {
		if n := byTestID(doc, id).Length(); n != 0 {
			t.Errorf("signed out but found %d %s elements", n, id)
		}
	}
	if n := doc.Find(`nav a[href="/reports"]`).Length(); n != 0 {
		t.Errorf("signed-out nav shows %d Reports links, want 0", n)
	}
}

func TestLayoutNavMarksCurrentPage(t *testing.T) {
	tests := []struct {
		path, wantCurrent string
	}{
		{"/", "/"},
		{"/reports", "/reports"},
		{"/reports/daily", "/reports"},
		{"/reportsx", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := basePage()
			p.Path = tt.path
			p.User = &User{Name: "Ada"}
			doc := mustRender(t, Layout(p))
			cur := doc.Find(`nav a[aria-current="page"]`)
			if tt.wantCurrent == "" {
				if cur.Length() != 0 {
					t.Errorf("aria-current on %d links, want none", cur.Length())
				}
				return
			}
			if cur.Length() != 1 {
				t.Fatalf("aria-current on %d links, want 1", cur.Length())
			}
			if got, _ := cur.Attr("href"); got != tt.wantCurrent {
				t.Errorf("current link = %q, want %q", got, tt.wantCurrent)
			}
		})
	}
}

func TestLayoutFlash(t *testing.T) {
	p := basePage()
	if n := byTestID(mustRender(t, Layout(p)), "flash").Length(); n != 0 {
		t.Errorf("empty Flash rendered %d flash elements", n)
	}
	p.Flash = "You are signed out."
	if got := text(mustOne(t, mustRender(t, Layout(p)), "flash")); got != p.Flash {
		t.Errorf("flash = %q, want %q", got, p.Flash)
	}
}

// User-provided strings must be escaped: a hostile name must not become
// markup anywhere on the page.
func TestLayoutEscapesUserStrings(t *testing.T) {
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	p := basePage()
	p.Title = evil
	p.Flash = evil
	p.User = &User{Name: evil, Email: evil + "@example.com"}
	doc := mustRender(t, HomePage(p, HomeView{CanViewReports: true}))

	if n := doc.Find("script").Length(); n != 0 {
		t.Errorf("found %d <script> elements, want 0", n)
	}
	if n := doc.Find("img[onerror]").Length(); n != 0 {
		t.Errorf("found %d injected <img> elements, want 0", n)
	}
	if got := text(mustOne(t, doc, "user-name")); got != evil {
		t.Errorf("user-name text = %q, want the literal %q", got, evil)
	}
	if got := text(mustOne(t, doc, "home-name")); got != evil {
		t.Errorf("home-name text = %q, want the literal %q", got, evil)
	}
}

func TestHomePageSignedOut(t *testing.T) {
	doc := mustRender(t, HomePage(basePage(), HomeView{CanViewReports: true}))

	if n := doc.Find("main h1").Length(); n != 1 {
		t.Errorf("found %d <h1> in main, want 1", n)
	}
	// The hero repeats the header's buttons, so each test id appears twice:
	// once in the header, once in main; both must point to the right place.
	for id, href := range map[string]string{"sign-in": "/sign-in", "sign-up": "/sign-up"} {
		s := doc.Find(`main [data-testid="` + id + `"]`)
		if s.Length() != 1 {
			t.Fatalf("main has %d %s elements, want 1", s.Length(), id)
		}
		if got, _ := s.Attr("href"); got != href {
			t.Errorf("hero %s href = %q, want %q", id, got, href)
		}
	}
	for _, id := range []string{"home-name", "home-email", "reports-link"} {
		if n := byTestID(doc, id).Length(); n != 0 {
			t.Errorf("signed out but found %d %s elements", n, id)
		}
	}
}

func TestHomePageSignedIn(t *testing.T) {
	tests := []struct {
		name      string
		user      User
		wantH1    string
		wantName  string
		wantEmail string
	}{
		{"with name", User{Name: "Ada Lovelace", Email: "ada@example.com"}, "Welcome, Ada Lovelace", "Ada Lovelace", "ada@example.com"},
		{"email only", User{Email: "ada@example.com"}, "Welcome, ada@example.com", "Not set", "ada@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePage()
			p.User = &tt.user
			doc := mustRender(t, HomePage(p, HomeView{CanViewReports: true}))

			if got := text(doc.Find("main h1")); got != tt.wantH1 {
				t.Errorf("h1 = %q, want %q", got, tt.wantH1)
			}
			if got := text(mustOne(t, doc, "home-name")); got != tt.wantName {
				t.Errorf("home-name = %q, want %q", got, tt.wantName)
			}
			if got := text(mustOne(t, doc, "home-email")); got != tt.wantEmail {
				t.Errorf("home-email = %q, want %q", got, tt.wantEmail)
			}
			if got, _ := mustOne(t, doc, "reports-link").Attr("href"); got != "/reports" {
				t.Errorf("reports-link href = %q, want /reports", got)
			}
			if n := doc.Find(`main [data-testid="sign-in"], main [data-testid="sign-up"]`).Length(); n != 0 {
				t.Errorf("signed in but main has %d sign-in/sign-up buttons", n)
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	tests := []struct {
		name         string
		view         ErrorView
		wantAction   string // href; "" means no action
		wantHomeLink bool
	}{
		{
			name: "not found, no action, no reference",
			view: ErrorView{Status: 404, Title: "Page not found",
				Message: "There is nothing at this address."},
			wantHomeLink: true,
		},
		{
			name: "with action and reference",
			view: ErrorView{Status: 400, Title: "Sign-in did not complete",
				Message: "Please try again.", RequestID: "req-7f3a9c",
				Action: &Link{Href: "/sign-in", Label: "Try signing in again"}},
			wantAction:   "/sign-in",
			wantHomeLink: true,
		},
		{
			name: "action already goes home",
			view: ErrorView{Status: 502, Title: "The sign-in service is not answering",
				Message: "Please try again in a minute.",
				Action:  &Link{Href: "/", Label: "Back to home"}},
			wantAction:   "/",
			wantHomeLink: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePage()
			p.Title = tt.view.Title
			doc := mustRender(t, ErrorPage(p, tt.view))

			root := mustOne(t, doc, "error-page")
			if !root.Is("section") {
				t.Errorf("error-page is <%s>, want <section>", goquery.NodeName(root))
			}
			wantStatus := map[int]string{400: "400", 404: "404", 502: "502"}[tt.view.Status]
			if got, _ := root.Attr("data-status"); got != wantStatus {
				t.Errorf("data-status = %q, want %q", got, wantStatus)
			}
			if got := text(mustOne(t, doc, "error-status")); !strings.Contains(got, wantStatus) {
				t.Errorf("status shown = %q, want it to contain %q", got, wantStatus)
			}
			if got := text(root.Find("h1")); got != tt.view.Title {
				t.Errorf("h1 = %q, want %q", got, tt.view.Title)
			}
			if got := text(mustOne(t, doc, "error-message")); got != tt.view.Message {
				t.Errorf("message = %q, want %q", got, tt.view.Message)
			}

			ref := byTestID(doc, "request-id")
			if tt.view.RequestID == "" {
				if ref.Length() != 0 {
					t.Errorf("no RequestID but reference shown: %q", text(ref))
				}
			} else if got := text(ref); !strings.Contains(got, "Reference") || !strings.Contains(got, tt.view.RequestID) {
				t.Errorf("reference = %q, want it to show %q", got, tt.view.RequestID)
			}

			action := byTestID(doc, "error-action")
			if tt.wantAction == "" {
				if action.Length() != 0 {
					t.Errorf("nil Action but %d action links rendered", action.Length())
				}
			} else {
				if action.Length() != 1 {
					t.Fatalf("found %d action links, want 1", action.Length())
				}
				if got, _ := action.Attr("href"); got != tt.wantAction {
					t.Errorf("action href = %q, want %q", got, tt.wantAction)
				}
				if got := text(action); got != tt.view.Action.Label {
					t.Errorf("action label = %q, want %q", got, tt.view.Action.Label)
				}
			}

			home := byTestID(doc, "home-link")
			if tt.wantHomeLink {
				if got, _ := home.Attr("href"); home.Length() != 1 || got != "/" {
					t.Errorf("want one Back to home link to /, found %d (href %q)", home.Length(), got)
				}
			} else if home.Length() != 0 {
				t.Errorf("action already goes home but %d extra home links rendered", home.Length())
			}
		})
	}
}

// An Action href must not be able to run script.
func TestErrorPageActionURLIsSanitized(t *testing.T) {
	doc := mustRender(t, ErrorPage(basePage(), ErrorView{
		Status: 400, Title: "x", Message: "x",
		Action: &Link{Href: "javascript:alert(1)", Label: "Click"},
	}))
	if got, _ := mustOne(t, doc, "error-action").Attr("href"); strings.HasPrefix(strings.ToLower(got), "javascript:") {
		t.Errorf("action href = %q, want it sanitized", got)
	}
}

func TestCard(t *testing.T) {
	tests := []struct {
		name, title string
		wantHeading bool
	}{
		{"with title", "Your account", true},
		{"without title", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := templ.Raw(`<p data-testid="card-body">inside</p>`)
			ctx := templ.WithChildren(context.Background(), body)
			var buf bytes.Buffer
			if err := Card(tt.title).Render(ctx, &buf); err != nil {
				t.Fatalf("render: %v", err)
			}
			doc, err := goquery.NewDocumentFromReader(&buf)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			card := doc.Find("section.card")
			if card.Length() != 1 {
				t.Fatalf("found %d section.card, want 1", card.Length())
			}
			if card.Find(`[data-testid="card-body"]`).Length() != 1 {
				t.Error("children not rendered inside the card")
			}
			h := card.Find("h2")
			if tt.wantHeading && text(h) != tt.title {
				t.Errorf("heading = %q, want %q", text(h), tt.title)
			}
			if !tt.wantHeading && h.Length() != 0 {
				t.Errorf("empty title rendered %d headings", h.Length())
			}
		})
	}
}

func TestBadgeTones(t *testing.T) {
	tests := []struct {
		tone, wantClass string
	}{
		{"ok", "badge-ok"},
		{"warn", "badge-warn"},
		{"danger", "badge-danger"},
		{"neutral", "badge-neutral"},
		{"", "badge-neutral"},
		{`x" onclick="alert(1)`, "badge-neutral"},
	}
	for _, tt := range tests {
		t.Run(tt.tone, func(t *testing.T) {
			doc := mustRender(t, Badge("Active", tt.tone))
			b := doc.Find("span.badge")
			if b.Length() != 1 {
				t.Fatalf("found %d span.badge, want 1", b.Length())
			}
			if !b.HasClass(tt.wantClass) {
				cls, _ := b.Attr("class")
				t.Errorf("class = %q, want it to include %q", cls, tt.wantClass)
			}
			if _, ok := b.Attr("onclick"); ok {
				t.Error("tone injected an attribute")
			}
			if got := text(b); got != "Active" {
				t.Errorf("text = %q, want Active", got)
			}
		})
	}
}

// TestAdminFormActionsEscapeIDs: an id is one path segment of the form's
// action, whatever it holds; a raw id of ../users/x/role?x= once made an
// admin's Save post to another person's role.
func TestAdminFormActionsEscapeIDs(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		"../users/x/role?x=": "/admin/users/..%2Fusers%2Fx%2Frole%3Fx=/role",
		"a/b?c#d":            "/admin/users/a%2Fb%3Fc%23d/role",
		"..":                 "/admin/users/%2E%2E/role",
		".":                  "/admin/users/%2E/role",
		"50%":                "/admin/users/50%25/role",
		"u1x2y3z4w5v6":       "/admin/users/u1x2y3z4w5v6/role",
	} {
		doc := mustRender(t, AdminUsersPage(basePage(), UsersView{
			Roles: []string{"viewer"},
			Users: []UserRow{{ID: id, Email: "p@example.com", Sessions: 1}},
		}))
		action, _ := mustOne(t, doc, "role-save").Closest("form").Attr("action")
		if action != want {
			t.Errorf("role form action for id %q = %q, want %q", id, action, want)
		}
		signOut, _ := mustOne(t, doc, "sign-out-everywhere").Closest("form").Attr("action")
		if want := strings.TrimSuffix(want, "/role") + "/sign-out"; signOut != want {
			t.Errorf("sign-out form action for id %q = %q, want %q", id, signOut, want)
		}
	}
	doc := mustRender(t, AdminSyncPage(basePage(), SyncView{Jobs: []JobRow{{ID: 42, User: Person{ID: "../x?y"}, Retryable: true}}}))
	if action, _ := mustOne(t, doc, "retry-job").Closest("form").Attr("action"); action != "/admin/sync/jobs/42/retry" {
		t.Errorf("retry form action = %q", action)
	}
}
