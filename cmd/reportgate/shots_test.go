package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"reportgate/internal/devstack"
)

// TestBrowserReportScreenshots saves the report at desktop and phone
// widths, light and dark, with the seeded history, for a person to look
// at. It runs only when REPORTGATE_SHOTS_DIR names where to put them.
func TestBrowserReportScreenshots(t *testing.T) {
	dir := os.Getenv("REPORTGATE_SHOTS_DIR")
	if dir == "" {
		t.Skip("REPORTGATE_SHOTS_DIR not set")
	}
	ctx := newBrowser(t)
	d := startDev(t, t.TempDir(), "--seed-history=true")
	if err := chromedp.Do(ctx, signInSteps(d.appURL, "analyst@example.com", testid("user-name"))...); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for name, path := range map[string]string{"custom": "/reports?from=2026-10-01&to=2026-10-14", "bad-range": "/reports?from=2026-10-14&to=2026-10-01"} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(d.appURL+path), chromedp.WaitVisible(testid("report-range"))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "report-"+name+".png"), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, size := range []struct {
			name string
			w, h int64
		}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
				t.Fatal(err)
			}
			var png []byte
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(size.w, size.h),
				chromedp.Navigate(d.appURL+"/reports?range=90"),
				chromedp.WaitVisible(testid("chart-y-axis")),
				chromedp.Focus(chromedp.CSS(`[data-testid="report-chart"] rect.bar:nth-of-type(60)`)),
			)
			if err == nil {
				png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "report-"+size.name+"-"+scheme+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// signInSteps sign a demo account in through the sign-in form and wait
// for ready.
func signInSteps(appURL, email string, ready chromedp.CSS) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(appURL + "/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), devstack.DemoPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(ready),
	}
}
