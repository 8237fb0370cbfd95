package policy

import (
	"strings"
	"testing"

	"reportgate/internal/config"
)

func TestRemoteClientReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := Remote{APIURL: "http://127.0.0.1:7766/v1", Project: "default"}.Client()
	if err == nil {
		t.Fatal("a client without a key, with a path and half a scope was built")
	}
	for _, want := range []string{"PERMIT_API_KEY is required", "without a path", "PERMIT_ENVIRONMENT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := (Remote{APIKey: "k", Project: "p", Environment: "e"}).Client(); err != nil {
		t.Errorf("a complete remote: %v", err)
	}
}

func TestRemoteAPIURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"":                        config.DefaultPermitAPIURL,
		"http://127.0.0.1:7766/":  "http://127.0.0.1:7766", // the SDK breaks on the slash
		"https://api.permit.io//": "https://api.permit.io",
	} {
		got, err := apiURL(raw)
		if err != nil || got != want {
			t.Errorf("apiURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
