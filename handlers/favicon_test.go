package handlers_test

import (
	"net/http"
	"testing"
)

// TestFavicon: browsers and tools that ask for /favicon.ico get the logo.
func TestFavicon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	resp, err := e.browser().client.Get(e.app.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("/favicon.ico: %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
