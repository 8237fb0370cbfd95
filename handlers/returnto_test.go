package handlers

import "testing"

func TestLocalPathRefusesOpenRedirects(t *testing.T) {
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
