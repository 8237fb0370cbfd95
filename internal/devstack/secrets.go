package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"reportgate/internal/devstack/logto"
)

// SecretsFile is the name of the generated secrets in a data directory.
const SecretsFile = "dev-secrets.json"

// Secrets are generated once per data directory and kept there, so a
// restart keeps sessions, accounts and webhook signatures valid. The JSON
// names are a file format: people read the signing key from it.
type Secrets struct {
	SessionSecret     string `json:"session_secret"`
	AppID             string `json:"app_id"`
	AppSecret         string `json:"app_secret"`
	M2MAppID          string `json:"m2m_app_id"`
	M2MAppSecret      string `json:"m2m_app_secret"`
	WebhookSigningKey string `json:"webhook_signing_key"`
	PermitAPIKey      string `json:"permit_api_key"`
}

// LoadSecrets reads dataDir's secrets, generating and saving any that are
// missing (all of them the first time).
func LoadSecrets(dataDir string) (Secrets, error) {
	path := filepath.Join(dataDir, SecretsFile)
	var s Secrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return s, err
	}
	changed := false
	fill := func(field *string, prefix string, n int) {
		if *field == "" {
			*field = prefix + logto.RandomID(n)
			changed = true
		}
	}
	fill(&s.SessionSecret, "", 48)
	fill(&s.AppID, "", 21)
	fill(&s.AppSecret, "", 32)
	fill(&s.M2MAppID, "m2m", 18)
	fill(&s.M2MAppSecret, "", 32)
	fill(&s.WebhookSigningKey, "", 32)
	fill(&s.PermitAPIKey, "permit_key_", 40)
	if !changed {
		return s, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return s, err
	}
	data, _ = json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(path, data, 0o600)
}

// Settings are the app's settings that point it at the stand-ins and
// carry s, by their environment names: the layer under the environment and
// .env, and what devstack prints for serve.
func (s Secrets) Settings(dataDir, baseURL, logtoURL, permitURL string) map[string]string {
	return map[string]string{
		"REPORTGATE_BASE_URL":       baseURL,
		"REPORTGATE_SESSION_SECRET": s.SessionSecret,
		"REPORTGATE_DATABASE_URL":   "sqlite:" + filepath.Join(dataDir, "reportgate.db"),
		"LOGTO_ENDPOINT":            logtoURL,
		"LOGTO_APP_ID":              s.AppID,
		"LOGTO_APP_SECRET":          s.AppSecret,
		"LOGTO_WEBHOOK_SIGNING_KEY": s.WebhookSigningKey,
		"LOGTO_M2M_APP_ID":          s.M2MAppID,
		"LOGTO_M2M_APP_SECRET":      s.M2MAppSecret,
		"PERMIT_API_KEY":            s.PermitAPIKey,
		"PERMIT_API_URL":            permitURL,
		"PERMIT_PDP_URL":            permitURL,
	}
}
