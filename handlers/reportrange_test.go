package handlers_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReportRanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	today := time.Now().UTC()
	day := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }
	for _, tc := range []struct {
		query    string
		wantBars int
	}{
		{"", 30},
		{"?range=7", 7},
		{"?range=90", 90},
		{"?from=" + day(9) + "&to=" + day(0), 10},
		{"?from=" + day(400) + "&to=" + day(0), 401},
	} {
		p := b.get(e.app.URL + "/reports" + tc.query)
		if p.Status != http.StatusOK {
			t.Fatalf("%q: status %d", tc.query, p.Status)
		}
		chart := testid(p, "report-chart")
		if n := chart.Find("svg rect.bar").Length(); n != tc.wantBars {
			t.Errorf("%q: %d bars, want %d", tc.query, n, tc.wantBars)
		}
		if chart.Find("svg > title").Text() == "" || chart.Find("svg > desc").Text() == "" {
			t.Errorf("%q: chart lacks an SVG title or desc", tc.query)
		}
		if chart.Find(`[data-testid="chart-y-axis"] span`).Length() < 2 || chart.Find("svg line.grid").Length() < 2 {
			t.Errorf("%q: chart lacks a y-axis with gridlines", tc.query)
		}
		if chart.Find("svg rect.bar[tabindex='0'] > title").Length() != tc.wantBars {
			t.Errorf("%q: bars are not all focusable with a title", tc.query)
		}
		form := testid(p, "report-range")
		if form.AttrOr("method", "") != "get" || form.Find(`input[name="from"]`).Length() != 1 || form.Find(`input[name="to"]`).Length() != 1 {
			t.Errorf("%q: no GET range form with from/to", tc.query)
		}
		// The export link carries the same range.
		link := testid(p, "export-csv").AttrOr("href", "")
		if wantQuery := strings.TrimPrefix(tc.query, "?"); !strings.HasSuffix(link, wantQuery) || tc.query != "" && !strings.Contains(link, "?") {
			t.Errorf("%q: export link %q does not follow the range", tc.query, link)
		}
		resp, err := b.client.Get(e.app.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: CSV %d, %v", tc.query, resp.StatusCode, err)
		}
		if len(rows) != tc.wantBars+1 || rows[len(rows)-1][0] != day(0) {
			t.Errorf("%q: CSV has %d rows ending %v, want a header and %d days ending today", tc.query, len(rows), rows[len(rows)-1], tc.wantBars)
		}
	}
}

func TestReportBadRangeIs400WithTheFormAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	for _, query := range []string{
		"range=14",
		"from=2026-03-02&to=2026-03-01",
		"from=2020-01-01&to=2023-01-01",
		"from=garbage&to=%00",
		"from=2026-01-01",
	} {
		for _, path := range []string{"/reports", "/reports/export.csv"} {
			p := b.get(e.app.URL + path + "?" + query)
			if p.Status != http.StatusBadRequest {
				t.Errorf("%s?%s: status %d, want 400", path, query, p.Status)
				continue
			}
			if testid(p, "range-error").Text() == "" || testid(p, "report-range").Length() != 1 {
				t.Errorf("%s?%s: no range form with a reason", path, query)
			}
		}
	}
}
