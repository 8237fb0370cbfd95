package handlers

import (
	"strings"
	"testing"
)

func TestLocalPathRefusesOpenRedirects(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                                 "/",
		"/reports":                         "/reports",
		"/reports?range=30d":               "/reports?range=30d",
		"https://evil.example/":            "/",
		"//evil.example/":                  "/",
		"///evil.example/":                 "/",
		"/\\evil.example":                  "/",
		"\\\\evil.example":                 "/",
		"/%2fevil.example":                 "/",
		"/%2Fevil.example":                 "/",
		"javascript:alert(1)":              "/",
		"reports":                          "/",
		"/\r\nLocation: https://evil":      "/",
		"/\tevil":                          "/",
		"http:/evil.example":               "/",
		"/sign-in":                         "/",
		"/callback?code=x":                 "/",
		"/ok/../reports":                   "/ok/../reports",
		"/@evil.example":                   "/@evil.example",
		"https:evil.example":               "/",
		"/reports#frag":                    "/reports",
		"/user@evil.example:80/x?y=z#frag": "/user@evil.example:80/x?y=z",
	}
	for in, want := range cases {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReturnTargetCapsLength(t *testing.T) {
	t.Parallel()
	atCap := "/r?q=" + strings.Repeat("x", maxReturnTo-len("/r?q="))
	cases := map[string]string{
		atCap:                           atCap,
		atCap + "x":                     "/",
		"https://evil.example/":         "/",
		"/reports?range=30d":            "/reports?range=30d",
		strings.Repeat("/", 4096):       "/",
		"/" + strings.Repeat("é", 1023): "/", // 2047 bytes, escaped by localPath past the cap
	}
	for in, want := range cases {
		if got := returnTarget(in); got != want {
			t.Errorf("returnTarget(%.20q… of %d bytes) = %.20q… (%d bytes), want %.20q…", in, len(in), got, len(got), want)
		}
	}
}
