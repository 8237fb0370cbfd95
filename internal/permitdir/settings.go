package permitdir

import appconfig "reportgate/internal/config"

// FromSettings is the directory client for the Permit settings p.
func FromSettings(p appconfig.Permit) (*Client, error) {
	return New(Config{APIKey: p.APIKey, APIURL: p.APIURL, Tenant: p.Tenant, Timeout: p.Timeout})
}
