package logtoapi

import (
	"errors"

	"reportgate/internal/config"
)

// FromSettings is the Management API client of the app's M2M app in l.
// The commands that need it (grant, backfill) fail here, naming the
// settings, when that app is not configured.
func FromSettings(l config.Logto) (*Client, error) {
	if l.M2MAppID == "" {
		return nil, errors.New("LOGTO_M2M_APP_ID and LOGTO_M2M_APP_SECRET are needed for the Logto Management API")
	}
	return New(Config{
		Endpoint:  l.Endpoint,
		AppID:     l.M2MAppID,
		AppSecret: l.M2MAppSecret,
		Resource:  l.ManagementResource,
		Timeout:   l.Timeout,
	})
}
