package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"reportgate/internal/devstack"
)

// signInAt opens path in the browser tab and signs in as email there.
func signInAt(ctx context.Context, t *testing.T, d *devInstance, path, email string, until chromedp.CSS) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(d.appURL+path),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), devstack.DemoPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(until),
	)
	if err != nil {
		t.Fatalf("%s signs in to %s: %v", email, path, err)
	}
}

// TestBrowserAccessRequestApproved: norole asks for reports:view from the
// denied page and sees it pending; the admin sees it with viewer suggested
// and approves; norole, still signed in, reloads into the report; the
// audit trail lists the request, the approval and the grant with actor
// and subject.
func TestBrowserAccessRequestApproved(t *testing.T) {
	nora := newBrowser(t)
	d := startDev(t, t.TempDir())
	ada, cancel := chromedp.NewContext(nora, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)

	// dev seeds no open requests.
	signInAt(ada, t, d, "/admin/requests", "admin@example.com", testid("no-requests"))

	signInAt(nora, t, d, "/reports", "norole@example.com", testid("request-access"))
	err := chromedp.Do(nora,
		chromedp.SendKeys(testid("request-reason"), "Preparing the board report"),
		chromedp.Click(testid("request-submit")),
		chromedp.WaitVisible(testid("request-pending")),
	)
	if err != nil {
		t.Fatalf("request access: %v", err)
	}
	if got := text(nora, t, testid("request-pending")); !strings.Contains(got, "waiting for an admin") {
		t.Errorf("pending text %q", got)
	}

	err = chromedp.Do(ada, chromedp.Reload(), chromedp.WaitVisible(testid("access-request")))
	if err != nil {
		t.Fatalf("admin sees the request: %v", err)
	}
	if row := text(ada, t, testid("access-request")); !strings.Contains(row, "Nora Norole") || !strings.Contains(row, "Preparing the board report") {
		t.Errorf("request row %q", row)
	}
	suggested, err := chromedp.Run(ada, chromedp.Evaluate[string](`document.querySelector('[data-testid="approve-role"]').value`))
	if err != nil || suggested != "viewer" {
		t.Errorf("suggested role %q (%v), want viewer", suggested, err)
	}
	if err := chromedp.Do(ada, chromedp.Click(testid("approve-request")), chromedp.WaitVisible(testid("no-requests"))); err != nil {
		t.Fatalf("approve: %v", err)
	}

	// Without signing out: reload until the report shows ("access being
	// set up" in between is fine; that page also reloads itself).
	eventually(t, 30*time.Second, "norole to see the report", func() bool {
		if err := chromedp.Do(nora, chromedp.Reload()); err != nil {
			return false
		}
		n, err := chromedp.Run(nora, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="report"]').length`))
		return err == nil && n == 1
	})

	if err := chromedp.Do(ada, chromedp.Navigate(d.appURL+"/admin/audit"), chromedp.WaitVisible(testid("audit-log"))); err != nil {
		t.Fatalf("audit trail: %v", err)
	}
	rows, err := chromedp.Run(ada, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="audit-entry"]')].map(
		e => e.dataset.action + " | " + e.querySelector('[data-testid="audit-actor"]').innerText.replace(/\s+/g, " ") +
			" | " + e.querySelector('[data-testid="audit-subject"]').innerText.replace(/\s+/g, " "))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ action, actor, subject string }{
		{"request.opened", "Nora Norole", "Nora Norole"},
		{"request.approved", "Ada Admin", "Nora Norole"},
		{"role.granted", "Ada Admin", "Nora Norole"},
	} {
		found := false
		for _, r := range rows {
			parts := strings.Split(r, " | ")
			if len(parts) == 3 && parts[0] == want.action && strings.Contains(parts[1], want.actor) && strings.Contains(parts[2], want.subject) {
				found = true
			}
		}
		if !found {
			t.Errorf("audit trail lacks %s by %s about %s:\n%s", want.action, want.actor, want.subject, strings.Join(rows, "\n"))
		}
	}
}
