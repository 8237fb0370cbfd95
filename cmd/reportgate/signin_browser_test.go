package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"reportgate/internal/devstack"
)

// TestBrowserSignInHasNoDeadEnds shares one browser and one dev between
// the ways out of a sign-in that used to end on an error.
func TestBrowserSignInHasNoDeadEnds(t *testing.T) {
	// Without the back-forward cache, which keeps whole pages in memory and
	// would hide what Back does over HTTP.
	ctx := newBrowser(t, chromedp.Flag("disable-features", "BackForwardCache"))
	d := startDev(t, t.TempDir())

	t.Run("cancel sign-up", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(d.appURL+"/"),
			chromedp.Click(testid("sign-up")),
			chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
			chromedp.Click(testid("cancel")),
			chromedp.WaitVisible(testid("flash")),
		)
		if err != nil {
			t.Fatalf("cancel at Logto: %v", err)
		}
		if got := text(ctx, t, testid("flash")); got != "Sign-up cancelled." {
			t.Errorf("flash %q", got)
		}
		if location, err := chromedp.Run(ctx, chromedp.Location()); err != nil || location != d.appURL+"/" {
			t.Errorf("after cancel at %s (%v), want home", location, err)
		}
	})

	// The app session ends while Logto's lives on, and the person presses
	// Back to a page first reached through the sign-in redirects. Stored
	// redirects replayed from the cache loop (/reports → /sign-in → Logto →
	// /callback → /reports) into ERR_TOO_MANY_REDIRECTS; asked afresh,
	// they bring the person back through a new sign-in.
	t.Run("Back after the session ended", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(d.appURL+"/sign-in"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "analyst@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), devstack.DemoPassword),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(testid("user-name")),
			// Logto's session lives on, so /reports goes through /sign-in,
			// Logto and /callback without a form.
			deleteCookie(d.appURL, "reportgate_session"),
			chromedp.Navigate(d.appURL+"/reports"),
			chromedp.WaitVisible(testid("report")),
			chromedp.Navigate(d.appURL+"/"),
			chromedp.WaitVisible(testid("user-name")),
			deleteCookie(d.appURL, "reportgate_session"),
		)
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
		// history.back(): chromedp's NavigateBack waits for an event that
		// a cross-site redirect chain does not send.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`)); err != nil {
			t.Fatal(err)
		}
		backCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(backCtx, chromedp.WaitVisible(testid("report"))); err != nil {
			location, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 300) : ""`))
			t.Fatalf("no report after Back: %v; at %s showing:\n%s", err, location, body)
		}
	})
}

// deleteCookie removes a cookie from the browser, as its expiry would.
func deleteCookie(url, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: url})
		return chromedp.Void{}, err
	})
}
