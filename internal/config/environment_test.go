package config

import (
	"os"
	"strings"
	"testing"
)

func TestEnvironmentPrecedence(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".env", []byte("A=dotenv\nB=dotenv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A": "env"}
	lookup, err := Environment(func(k string) string { return env[k] }, FromMap(map[string]string{"A": "gen", "B": "gen", "C": "gen"}))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"A": "env", "B": "dotenv", "C": "gen"} {
		if got, _ := lookup(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestEnvironmentWithoutDotEnv(t *testing.T) {
	t.Chdir(t.TempDir())
	lookup, err := Environment(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := lookup("A"); ok {
		t.Errorf("A = %q from nowhere", v)
	}
}

func TestEnvironmentNamesABadDotEnv(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".env", []byte("not a setting\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEnvironment(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "read .env") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogtoOrigin(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://tenant.logto.app/":    "https://tenant.logto.app",
		"http://127.0.0.1:3001/oidc/x": "http://127.0.0.1:3001",
		"://bad":                       "",
	} {
		if got := (Logto{Endpoint: endpoint}).Origin(); got != want {
			t.Errorf("Origin(%q) = %q, want %q", endpoint, got, want)
		}
	}
}
