package testkit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// Page is an HTML answer as a browser ends up showing it: the status, the
// address after redirects, the headers, the body as sent (for failure
// messages) and the parsed document (for finding forms, links and text).
type Page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

// readPage reads resp's body, closes it, and parses it as HTML.
func readPage(resp *http.Response) (Page, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Page{}, fmt.Errorf("read %s: %w", resp.Request.URL, err)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return Page{}, fmt.Errorf("parse %s: %w", resp.Request.URL, err)
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: string(body), Doc: doc}, nil
}

// Open sends req with client (which decides how redirects are followed
// and which cookies go along) and returns the page it ends on, failing t
// when there is none. The client's Timeout is the deadline.
func Open(t testing.TB, client *http.Client, req *http.Request) Page {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	p, err := readPage(resp)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestID selects the elements whose data-testid is id: tests find what
// they assert on by these stable attributes, not by markup.
func (p Page) TestID(id string) *goquery.Selection {
	return p.Doc.Find(`[data-testid="` + id + `"]`)
}

// Has reports whether the page holds an element whose data-testid is id.
func (p Page) Has(id string) bool { return p.TestID(id).Length() > 0 }

// FormRequest builds the request of filling fields into the page's form
// that has all of them and submitting it; see the function FormRequest.
func (p Page) FormRequest(fields map[string]string) (*http.Request, error) {
	return FormRequest(p.Doc, p.URL, fields)
}

// Redirect returns where the page's 303 See Other sends the browser, and
// fails t when the page is anything else. Tests whose client stops at
// redirects off the site use it to catch the hand-over, such as an OIDC
// provider sending the browser back to the app's callback.
func (p Page) Redirect(t testing.TB) *url.URL {
	t.Helper()
	if p.Status != http.StatusSeeOther {
		t.Fatalf("want a 303 redirect, got %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	loc, err := p.URL.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
