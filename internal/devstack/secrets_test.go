package devstack

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSecretsFileFormat: dev-secrets.json is read by people (the README
// sends them there for the signing key) and by older data directories, so
// its field names are a format that must not drift.
func TestSecretsFileFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := LoadSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dev-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]string
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	want := []string{"app_id", "app_secret", "m2m_app_id", "m2m_app_secret", "permit_api_key", "session_secret", "webhook_signing_key"}
	if got := slices.Sorted(maps.Keys(file)); !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	for k, v := range file {
		if v == "" {
			t.Errorf("%s generated empty", k)
		}
	}
	if file["webhook_signing_key"] != s.WebhookSigningKey || file["session_secret"] != s.SessionSecret {
		t.Error("the file and the returned secrets differ")
	}
	info, err := os.Stat(filepath.Join(dir, "dev-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v, want 0600", info.Mode().Perm())
	}
}

// TestLoadSecretsKeepsWhatExists: a restart keeps every secret, and a file
// missing a field (from an older release) gets only that one generated.
func TestLoadSecretsKeepsWhatExists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "dev-secrets.json")
	if err := os.WriteFile(path, []byte(`{"session_secret":"kept-session-secret","app_id":"kept-app"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	first, err := LoadSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.SessionSecret != "kept-session-secret" || first.AppID != "kept-app" || first.PermitAPIKey == "" {
		t.Errorf("after filling: %+v", first)
	}
	again, err := LoadSecrets(dir)
	if err != nil || again != first {
		t.Errorf("second load = %+v, %v; want %+v", again, err, first)
	}
}

func TestSecretsSettings(t *testing.T) {
	t.Parallel()
	s := Secrets{SessionSecret: "ss", AppID: "a", AppSecret: "as", M2MAppID: "m", M2MAppSecret: "ms",
		WebhookSigningKey: "wk", PermitAPIKey: "pk"}
	got := s.Settings("/d", "http://127.0.0.1:8080", "http://127.0.0.1:3001", "http://127.0.0.1:7766")
	want := map[string]string{
		"REPORTGATE_BASE_URL":       "http://127.0.0.1:8080",
		"REPORTGATE_SESSION_SECRET": "ss",
		"REPORTGATE_DATABASE_URL":   "sqlite:/d/reportgate.db",
		"LOGTO_ENDPOINT":            "http://127.0.0.1:3001",
		"LOGTO_APP_ID":              "a",
		"LOGTO_APP_SECRET":          "as",
		"LOGTO_WEBHOOK_SIGNING_KEY": "wk",
		"LOGTO_M2M_APP_ID":          "m",
		"LOGTO_M2M_APP_SECRET":      "ms",
		"PERMIT_API_KEY":            "pk",
		"PERMIT_API_URL":            "http://127.0.0.1:7766",
		"PERMIT_PDP_URL":            "http://127.0.0.1:7766",
	}
	if !maps.Equal(got, want) {
		t.Errorf("settings = %v\nwant %v", got, want)
	}
}
