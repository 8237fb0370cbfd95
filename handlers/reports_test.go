package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"reportgate/internal/devstack/permit"
	"reportgate/internal/reports"
)

func TestReportsRequiresSignIn(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
			if p.Status != tc.status || testid(p, tc.testid).Length() != 1 {
				t.Fatalf("status %d, want %d with %s", p.Status, tc.status, tc.testid)
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
	t.Parallel()
	for name, fault := range map[string]permit.Fault{
		"slow": {Mode: permit.FaultSlow, Delay: 3 * time.Second, Scope: permit.ScopePDP},
		"5xx":  {Mode: permit.Fault5xx, Scope: permit.ScopePDP},
		"429":  {Mode: permit.Fault429, Scope: permit.ScopePDP},
		"down": {Mode: permit.FaultDown, Scope: permit.ScopePDP},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			b := e.browser()
			b.signIn(e, "", "analyst@example.com", "demo-password")
			e.permit.SetFault(fault)
			p := b.get(e.app.URL + "/reports")
			if p.Status != http.StatusServiceUnavailable || testid(p, "authz-unavailable").Length() != 1 {
				t.Fatalf("status %d", p.Status)
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

func (brokenReports) Signups(context.Context, reports.Range) (reports.Report, error) {
	return reports.Report{}, errors.New("sqlite: disk I/O error at /var/lib/secret.db")
}

func TestUnexpectedErrorIs500WithoutInternals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{reports: brokenReports{}})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	p := b.get(e.app.URL + "/reports")
	if p.Status != http.StatusInternalServerError || testid(p, "error-page").AttrOr("data-status", "") != "500" {
		t.Fatalf("status %d", p.Status)
	}
	if strings.Contains(p.Doc.Text(), "sqlite") || strings.Contains(p.Doc.Text(), "secret.db") {
		t.Fatal("the error page leaks internals")
	}
	if testid(p, "request-id").Length() != 1 {
		t.Error("no reference to quote to support")
	}
}

// rawGet fetches path with the browser's cookies, without the transport's
// transparent gzip, sending acceptEncoding when not empty.
func (b *browser) rawGet(rawURL, acceptEncoding string) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	client := &http.Client{Jar: b.jar, Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, body
}

func TestReportPageGzipDecodesToTheSamePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn(e, "", "analyst@example.com", "demo-password")
	plainResp, plain := b.rawGet(e.app.URL+"/reports", "")
	gzResp, gz := b.rawGet(e.app.URL+"/reports", "gzip, deflate, br")
	if plainResp.StatusCode != http.StatusOK || gzResp.StatusCode != http.StatusOK {
		t.Fatalf("status %d and %d", plainResp.StatusCode, gzResp.StatusCode)
	}
	for _, c := range []struct {
		resp *http.Response
		body []byte
	}{{plainResp, plain}, {gzResp, gz}} {
		if c.resp.ContentLength != int64(len(c.body)) || c.resp.Header.Get("Content-Length") == "" {
			t.Errorf("Content-Length %q for a body of %d bytes", c.resp.Header.Get("Content-Length"), len(c.body))
		}
	}
	if plainResp.Header.Get("Content-Encoding") != "" || gzResp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q without gzip, %q with", plainResp.Header.Get("Content-Encoding"), gzResp.Header.Get("Content-Encoding"))
	}
	// gzip.Reader checks the trailer's CRC and size against what it decoded.
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	decoded, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !bytes.Equal(decoded, plain) {
		t.Fatalf("gzipped page decodes to %d bytes that differ from the %d-byte plain page", len(decoded), len(plain))
	}
	if len(gz) >= len(plain) {
		t.Errorf("gzip made the page bigger: %d → %d bytes", len(plain), len(gz))
	}
	if !bytes.Contains(plain, []byte(`data-testid="report"`)) || !bytes.Contains(plain, []byte("Ana Analyst")) {
		t.Error("the page lacks the report or its reader's name")
	}
	if _, body := b.rawGet(e.app.URL+"/reports", "gzip;q=0"); !bytes.Equal(body, plain) {
		t.Error("gzip;q=0 still got a gzipped page")
	}
}

func TestReportBodyIsSharedButNotThePerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	pages := map[string]page{}
	for _, email := range []string{"analyst@example.com", "admin@example.com"} {
		b := e.browser()
		b.signIn(e, "", email, "demo-password")
		pages[email] = b.get(e.app.URL + "/reports")
		if pages[email].Status != http.StatusOK {
			t.Fatalf("%s: status %d", email, pages[email].Status)
		}
	}
	ana, ada := pages["analyst@example.com"], pages["admin@example.com"]
	if got := testid(ana, "user-name").Text(); got != "Ana Analyst" {
		t.Errorf("analyst's page names %q", got)
	}
	if got := testid(ada, "user-name").Text(); got != "Ada Admin" {
		t.Errorf("admin's page names %q", got)
	}
	anaReport, _ := goquery.OuterHtml(testid(ana, "report"))
	adaReport, _ := goquery.OuterHtml(testid(ada, "report"))
	if anaReport == "" || anaReport != adaReport {
		t.Errorf("the two readers got different reports:\n%s\n---\n%s", anaReport, adaReport)
	}
	if strings.Contains(adaReport, "Ana") || strings.Contains(anaReport, "Ada") {
		t.Error("the shared report body names a reader")
	}
}
