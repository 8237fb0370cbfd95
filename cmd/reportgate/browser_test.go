package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"reportgate/internal/devstack"
)

// newBrowser starts headless Chromium. Browser tests skip only on a
// developer machine without a browser; in CI a missing browser fails.
func newBrowser(t *testing.T, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	found := false
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if _, err := exec.LookPath(name); err == nil {
			found = true
		}
	}
	if !found {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found in CI (make test installs Debian's chromium)")
		}
		t.Skip("no Chromium on this machine; `make browser` installs it")
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], opts...)...)
	browserCtx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser; it must not carry the test's
	// deadline, which is applied to the later steps only.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

func testid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// text reads an element's visible text, trimmed.
func text(ctx context.Context, t *testing.T, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func TestBrowserSignUpReloadSignOut(t *testing.T) {
	ctx := newBrowser(t)
	d := startDev(t, t.TempDir())

	err := chromedp.Do(ctx,
		chromedp.Navigate(d.appURL+"/"),
		chromedp.Click(testid("sign-up")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Katherine Johnson"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "katherine@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "orbital-2-mechanics"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(testid("user-name")),
	)
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	if name := text(ctx, t, testid("user-name")); name != "Katherine Johnson" {
		t.Fatalf("signed-in name %q", name)
	}

	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(testid("user-name"))); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if name := text(ctx, t, testid("user-name")); name != "Katherine Johnson" {
		t.Fatalf("after reload: name %q", name)
	}
	cookies, err := chromedp.Run(ctx, chromedp.Action[*network.GetCookiesResult](func(ctx context.Context, tg *chromedp.Target) (*network.GetCookiesResult, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{d.appURL}})
		return &res, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	sessionValue := ""
	for _, c := range cookies.Cookies {
		if c.Name == "reportgate_session" {
			sessionValue = c.Value
		}
	}
	if sessionValue == "" {
		t.Fatal("no session cookie in the browser")
	}

	if err := chromedp.Do(ctx, chromedp.Click(testid("sign-out")), chromedp.WaitVisible(testid("sign-in"))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || location != d.appURL+"/" {
		t.Errorf("after sign-out at %s (%v), want %s/", location, err, d.appURL)
	}
	userNames, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="user-name"]').length`))
	if err != nil || userNames != 0 {
		t.Errorf("signed-out page shows a user (%d, %v)", userNames, err)
	}

	// The old cookie must be dead server-side, not just deleted in the browser.
	req, _ := http.NewRequest(http.MethodGet, d.appURL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "reportgate_session", Value: sessionValue})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `data-testid="user-name"`) {
		t.Fatal("the pre-sign-out session cookie still signs the person in")
	}
}

func TestBrowserReportsByRole(t *testing.T) {
	ctx := newBrowser(t)
	d := startDev(t, t.TempDir())
	fetchCSV := `fetch('/reports/export.csv').then(async r => r.status + "\n" + await r.text())`

	for _, tc := range []struct {
		email     string
		page      string
		export    bool
		csvStatus string
	}{
		{"analyst@example.com", "report", true, "200"},
		{"viewer@example.com", "report", false, "403"},
		{"norole@example.com", "access-denied", false, "403"},
	} {
		t.Run(tc.email, func(t *testing.T) {
			err := chromedp.Do(ctx,
				chromedp.Navigate(d.appURL+"/reports"),
				chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), tc.email),
				chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), devstack.DemoPassword),
				chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
				chromedp.WaitVisible(testid(tc.page)),
			)
			if err != nil {
				t.Fatalf("open reports: %v", err)
			}
			links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="export-csv"]').length`))
			if err != nil || (links == 1) != tc.export {
				t.Errorf("export links %d (%v), want shown=%v", links, err, tc.export)
			}
			if tc.page == "report" {
				bars, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="report-chart"] svg rect').length`))
				if bars != 30 {
					t.Errorf("chart bars %d, want 30", bars)
				}
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fetchCSV, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			status, body, _ := strings.Cut(got, "\n")
			if status != tc.csvStatus {
				t.Errorf("CSV download: status %s, want %s", status, tc.csvStatus)
			}
			if tc.csvStatus == "200" && !strings.HasPrefix(body, "day,total") {
				t.Errorf("CSV body %q", body)
			}
			if err := chromedp.Do(ctx, chromedp.Click(testid("sign-out")), chromedp.WaitVisible(testid("sign-in"))); err != nil {
				t.Fatalf("sign out: %v", err)
			}
		})
	}
}

func TestBrowserSignUpToReportThroughSetUp(t *testing.T) {
	ctx := newBrowser(t)
	d := startDev(t, t.TempDir(), "--permit-propagation-delay", "2s")
	err := chromedp.Do(ctx,
		chromedp.Navigate(d.appURL+"/sign-up"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Mary Jackson"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "mary@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "wind-tunnel-42"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(testid("user-name")),
		chromedp.Navigate(d.appURL+"/reports"),
		// The Logto stand-in's webhook is being turned into a Permit user
		// with the viewer role, which the PDP sees 2 s later.
		chromedp.WaitVisible(testid("access-pending")),
		// The pending page reloads itself every 3 s until access arrives.
		chromedp.WaitVisible(testid("report")),
	)
	if err != nil {
		t.Fatalf("sign-up to report: %v", err)
	}
	exports, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="export-csv"]').length`))
	if err != nil || exports != 0 {
		t.Errorf("a new person sees %d export links (%v); the default role is viewer", exports, err)
	}
}
