package handlers_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"reportgate/internal/devstack/permit"
	"reportgate/internal/reports"
)

func TestReportsRequiresSignIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"/reports", "/reports/export.csv"} {
		resp, err := e.browser().noFollow().Get(e.app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc.Path != "/sign-in" || loc.Query().Get("return_to") != path {
			t.Errorf("%s signed out: %d → %s", path, resp.StatusCode, loc)
		}
	}
}

func TestReportsByRole(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		email      string
		status     int
		testid     string
		exportLink bool
		csvStatus  int
	}{
		{"analyst@example.com", http.StatusOK, "report", true, http.StatusOK},
		{"viewer@example.com", http.StatusOK, "report", false, http.StatusForbidden},
		{"norole@example.com", http.StatusForbidden, "access-denied", false, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.email, func(t *testing.T) {
			b := e.browser()
			b.signIn(e, "", tc.email, "demo-password")
			p := b.get(e.app.URL + "/reports")
			if p.status != tc.status || testid(p, tc.testid).Length() != 1 {
				t.Fatalf("status %d, want %d with %s", p.status, tc.status, tc.testid)
			}
			if got := testid(p, "export-csv").Length() == 1; got != tc.exportLink {
				t.Errorf("export link shown = %v, want %v", got, tc.exportLink)
			}
			if tc.testid == "report" {
				if testid(p, "report-chart").Find("svg rect").Length() != 30 {
					t.Errorf("chart has %d bars, want 30", testid(p, "report-chart").Find("svg rect").Length())
				}
				// The people signed in here count as sign-ups today.
				if testid(p, "report-totals").Length() != 1 || testid(p, "report-total").Text() == "0" {
					t.Errorf("totals %q", testid(p, "report-total").Text())
				}
			} else {
				text := testid(p, "access-denied").Text()
				for _, want := range []string{"Nora Norole", "view reports", "viewer"} {
					if !strings.Contains(text, want) {
						t.Errorf("access-denied view does not say %q: %s", want, text)
					}
				}
				if testid(p, "report-chart").Length() != 0 {
					t.Error("denied page carries report data")
				}
			}
			resp, err := b.client.Get(e.app.URL + "/reports/export.csv")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.csvStatus {
				t.Fatalf("CSV status %d, want %d", resp.StatusCode, tc.csvStatus)
			}
			if tc.csvStatus == http.StatusOK {
				rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
				if err != nil || len(rows) != 31 || rows[0][0] != "day" {
					t.Fatalf("CSV: %d rows, %v\n%s", len(rows), err, body)
				}
				if strings.Contains(string(body), "@") {
					t.Error("CSV carries personal data")
				}
				if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
					t.Errorf("Content-Disposition %q", cd)
				}
			}
		})
	}
}

func TestReportsFailClosedWhenPermitMisbehaves(t *testing.T) {
	for name, fault := range map[string]permit.Fault{
		"slow": {Mode: permit.FaultSlow, Delay: 3 * time.Second, Scope: permit.ScopePDP},
		"5xx":  {Mode: permit.Fault5xx, Scope: permit.ScopePDP},
		"429":  {Mode: permit.Fault429, Scope: permit.ScopePDP},
		"down": {Mode: permit.FaultDown, Scope: permit.ScopePDP},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			b := e.browser()
			b.signIn(e, "", "analyst@example.com", "demo-password")
			e.permit.SetFault(fault)
			p := b.get(e.app.URL + "/reports")
			if p.status != http.StatusServiceUnavailable || testid(p, "authz-unavailable").Length() != 1 {
				t.Fatalf("status %d", p.status)
			}
			if testid(p, "report").Length() != 0 || testid(p, "report-chart").Length() != 0 {
				t.Fatal("report data shown without a decision")
			}
			resp, err := b.client.Get(e.app.URL + "/reports/export.csv")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || strings.HasPrefix(string(body), "day,") {
				t.Fatalf("CSV with Permit %s: %d", name, resp.StatusCode)
			}
		})
	}
}

type brokenReports struct{}

func (brokenReports) SignupsLast30Days(context.Context) (reports.Report, error) {
	return reports.Report{}, errors.New("sqlite: disk I/O error at /var/lib/secret.db")
}

func TestUnexpectedErrorIs500WithoutInternals(t *testing.T) {
	e := newEnv(t, envOptions{reports: brokenReports{}})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	p := b.get(e.app.URL + "/reports")
	if p.status != http.StatusInternalServerError || testid(p, "error-page").AttrOr("data-status", "") != "500" {
		t.Fatalf("status %d", p.status)
	}
	if strings.Contains(p.doc.Text(), "sqlite") || strings.Contains(p.doc.Text(), "secret.db") {
		t.Fatal("the error page leaks internals")
	}
	if testid(p, "request-id").Length() != 1 {
		t.Error("no reference to quote to support")
	}
}
