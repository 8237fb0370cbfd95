package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDevSettingsPrecedence: dev layers the environment over ./.env over
// the settings it generates, seen through the database each run opens.
func TestDevSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dataDir := filepath.Join(dir, "data")
	dotenvDB, envDB := filepath.Join(dir, "dotenv.db"), filepath.Join(dir, "env.db")
	if err := os.WriteFile(".env", []byte("REPORTGATE_DATABASE_URL=sqlite:"+dotenvDB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }

	startDev(t, dataDir).stop()
	if !exists(dotenvDB) || exists(filepath.Join(dataDir, "reportgate.db")) {
		t.Fatalf(".env does not win over the generated settings: %s exists %v", dotenvDB, exists(dotenvDB))
	}
	startDevEnv(t, map[string]string{"REPORTGATE_DATABASE_URL": "sqlite:" + envDB}, dataDir).stop()
	if !exists(envDB) {
		t.Fatal("the environment does not win over .env")
	}
	if !exists(filepath.Join(dataDir, "dev-secrets.json")) {
		t.Error("dev generated no secrets into its data directory")
	}
}
