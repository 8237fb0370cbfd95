package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// overflowJS reports what sticks out sideways: the document wider than the
// viewport, or an admin table scrolled within its wrapper (which the
// document width does not show, but cuts a column off all the same; admin
// tables stack into cards instead).
const overflowJS = `(() => {
	const out = [];
	const doc = document.documentElement;
	if (doc.scrollWidth > window.innerWidth) out.push("document " + doc.scrollWidth + "px in " + window.innerWidth + "px");
	document.querySelectorAll(".table-wrap:has(.table-stack)").forEach((w, i) => {
		if (w.scrollWidth > w.clientWidth) out.push("table " + i + " " + w.scrollWidth + "px in " + w.clientWidth + "px");
	});
	return out;
})()`

// TestBrowserPagesFitAPhone: at 390 px wide no page scrolls sideways and no
// admin table hides a column, for a signed-out visitor and an admin.
func TestBrowserPagesFitAPhone(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	d := startDev(t, t.TempDir())
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	check := func(path string, ready chromedp.CSS) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(d.appURL+path), chromedp.WaitVisible(ready)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		over, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowJS))
		if err != nil {
			t.Fatal(err)
		}
		if len(over) > 0 {
			t.Errorf("%s at 390 px: %v", path, over)
		}
	}
	check("/", testid("sign-in"))
	if err := chromedp.Do(ctx, signInSteps(d.appURL, "admin@example.com", testid("nav-admin"))...); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	check("/", testid("nav-admin"))
	check("/reports", testid("report"))
	check("/reports?range=90", testid("chart-y-axis"))
	tilesLineUp(ctx, t, "390 px")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(testid("chart-y-axis"))); err != nil {
		t.Fatal(err)
	}
	tilesLineUp(ctx, t, "1280 px")
	chartKeyboard(ctx, t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	check("/reports?from=2025-01-01&to=2026-01-01", testid("chart-y-axis"))
	check("/reports?range=14", testid("range-error"))
	check("/admin/users", testid("user-row"))
	check("/admin/sync?events=all", testid("event-row"))
}

// tilesLineUp checks the report's stat tiles on the page shown: one line
// per label (none cut short), equal heights, and every row full.
func tilesLineUp(ctx context.Context, t *testing.T, width string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const tiles = [...document.querySelectorAll('[data-testid="report-totals"] .stat')];
		const out = [];
		for (const l of document.querySelectorAll('[data-testid="report-totals"] .stat-label')) {
			const lh = parseFloat(getComputedStyle(l).lineHeight) || 20;
			if (l.scrollWidth > l.clientWidth || l.getBoundingClientRect().height > lh * 1.5) out.push('label wraps or is cut: ' + l.textContent);
		}
		const heights = new Set(tiles.map(e => Math.round(e.getBoundingClientRect().height)));
		if (heights.size > 1) out.push('tile heights differ: ' + [...heights]);
		const rows = {};
		for (const e of tiles) { const top = Math.round(e.getBoundingClientRect().top); rows[top] = (rows[top] || 0) + 1; }
		const counts = Object.values(rows);
		if (counts.some(n => n !== counts[0])) out.push('a row is not full: ' + counts);
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("report tiles at %s: %s", width, p)
	}
}

// chartKeyboard checks the chart's enhancement: the bars are one Tab stop
// (the latest day), the arrow keys move along them, and the focused day's
// numbers are written under the chart.
func chartKeyboard(ctx context.Context, t *testing.T) {
	t.Helper()
	const bars = `[data-testid="report-chart"] rect.bar`
	err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(bars+`[tabindex="0"]`)),
		chromedp.KeyEvent(kb.ArrowLeft),
		chromedp.KeyEvent(kb.ArrowLeft),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const bars = [...document.querySelectorAll('`+bars+`')];
		const stops = bars.filter(b => b.getAttribute('tabindex') === '0');
		return [String(stops.length), String(bars.indexOf(document.activeElement)), String(bars.length),
			document.activeElement.getAttribute('aria-label') || '',
			document.querySelector('[data-chart-readout]').textContent];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(got[2])
	if got[0] != "1" || got[1] != strconv.Itoa(n-3) || got[3] == "" || got[4] != got[3] {
		t.Errorf("after focusing the chart and pressing ← twice: %s Tab stops, bar %s of %s focused (%q), readout %q; want 1 stop, bar %d, its label under the chart",
			got[0], got[1], got[2], got[3], got[4], n-3)
	}
}
