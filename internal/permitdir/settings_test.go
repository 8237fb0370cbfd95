package permitdir

import (
	"testing"
	"time"

	appconfig "reportgate/internal/config"
)

func TestFromSettingsTakesThePermitSection(t *testing.T) {
	if _, err := FromSettings(appconfig.Permit{}); err == nil {
		t.Error("a client without an API key")
	}
	c, err := FromSettings(appconfig.Permit{APIKey: "k", APIURL: "http://127.0.0.1:1/", Tenant: "t", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.apiURL != "http://127.0.0.1:1" || c.tenant != "t" || c.http.Timeout != 3*time.Second {
		t.Errorf("client %q %q %v", c.apiURL, c.tenant, c.http.Timeout)
	}
}
