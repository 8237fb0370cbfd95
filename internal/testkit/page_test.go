package testkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"reportgate/internal/testkit"
)

func TestOpenReadsThePageItEndsOn(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/form", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", "yes")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(twoForms + `<p data-testid="note">hello</p>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/start", nil)
	p := testkit.Open(t, srv.Client(), req)
	if p.Status != http.StatusTeapot || p.URL.Path != "/form" || p.Header.Get("X-Seen") != "yes" {
		t.Fatalf("page = %d at %s with X-Seen %q, want 418 at /form with X-Seen yes", p.Status, p.URL, p.Header.Get("X-Seen"))
	}
	if got := p.TestID("note").Text(); got != "hello" || !p.Has("note") || p.Has("missing") {
		t.Errorf("TestID(note) = %q, Has(note) = %v, Has(missing) = %v", got, p.Has("note"), p.Has("missing"))
	}
	form, err := p.FormRequest(map[string]string{"email": "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if form.URL.String() != srv.URL+"/sign-in?step=1" {
		t.Errorf("form goes to %s, want the sign-in form's action resolved against the page", form.URL)
	}
}

func TestRedirectIsWhereA303Sends(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://app.test/callback?code=c", http.StatusSeeOther)
	}))
	t.Cleanup(srv.Close)
	stop := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if got := testkit.Open(t, stop, req).Redirect(t); got.String() != "http://app.test/callback?code=c" {
		t.Errorf("Redirect = %s", got)
	}
}
