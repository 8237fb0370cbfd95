package logtoapi

import (
	"strings"
	"testing"

	"reportgate/internal/config"
)

func TestFromSettingsNeedsTheM2MApp(t *testing.T) {
	_, err := FromSettings(config.Logto{Endpoint: "http://127.0.0.1:1", AppID: "web", AppSecret: "s"})
	if err == nil || !strings.Contains(err.Error(), "LOGTO_M2M_APP_ID") {
		t.Fatalf("err = %v", err)
	}
	c, err := FromSettings(config.Logto{Endpoint: "http://127.0.0.1:1/", M2MAppID: "m2m", M2MAppSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint != "http://127.0.0.1:1" || c.timeout != config.DefaultLogtoTimeout {
		t.Errorf("client endpoint %q timeout %v", c.endpoint, c.timeout)
	}
}
