package testkit_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"reportgate/internal/testkit"
)

const twoForms = `<html><body>
<form method="post" action="/search"><input name="q" value=""></form>
<form method="post" action="/sign-in?step=1">
  <input type="hidden" name="interaction" value="abc">
  <input name="email" value="">
  <input name="password" value="">
</form>
<form method="get" action="/reports"><input name="days" value="30"><input name="role" value=""></form>
</body></html>`

func doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(twoForms))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFormRequestPostsTheFormWithTheFieldsKeepingHiddenOnes(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://app.test/login")
	req, err := testkit.FormRequest(doc(t), base, map[string]string{"email": "ada@example.com", "password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.String() != "http://app.test/sign-in?step=1" {
		t.Fatalf("request = %s %s, want POST http://app.test/sign-in?step=1", req.Method, req.URL)
	}
	if got := req.Header.Get("Origin"); got != "http://app.test" {
		t.Errorf("Origin = %q, want http://app.test", got)
	}
	body, _ := io.ReadAll(req.Body)
	got, _ := url.ParseQuery(string(body))
	want := url.Values{"interaction": {"abc"}, "email": {"ada@example.com"}, "password": {"pw"}}
	if got.Encode() != want.Encode() {
		t.Errorf("body = %s, want %s", got.Encode(), want.Encode())
	}
}

func TestFormRequestPutsAGetFormInTheQuery(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://app.test/reports")
	req, err := testkit.FormRequest(doc(t), base, map[string]string{"role": "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodGet || req.URL.Query().Encode() != "days=30&role=admin" || req.Body != nil {
		t.Fatalf("request = %s %s (body %v), want GET with days=30&role=admin", req.Method, req.URL, req.Body)
	}
}

func TestFormRequestFailsWithoutAFormHoldingEveryField(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://app.test/")
	if _, err := testkit.FormRequest(doc(t), base, map[string]string{"email": "a", "q": "b"}); err == nil {
		t.Fatal("no form has both email and q, yet FormRequest returned a request")
	}
}
