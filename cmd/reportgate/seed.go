package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/permitio/permit-golang/pkg/config"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
	permitsdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	appconfig "reportgate/internal/config"
	"reportgate/internal/devstack/permit"
)

// seedDemoRoles gives the seeded demo accounts their Permit users and
// roles, through the real SDK against the stand-in, as an admin would in
// the Permit console.
func seedDemoRoles(ctx context.Context, st *standins, s appconfig.Settings) error {
	cfg := config.NewConfigBuilder(s.Permit.APIKey).
		WithApiUrl(s.Permit.APIURL).
		WithPdpUrl(s.Permit.PDPURL).
		WithHTTPClient(&http.Client{Timeout: s.Permit.Timeout}).
		WithLogger(zap.NewNop()).
		WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, permit.ProjectKey, permit.EnvironmentKey)).
		Build()
	client := permitsdk.New(cfg)
	for _, a := range demoAccounts {
		u, ok := st.logto.UserByEmail(a.Email)
		if !ok {
			return fmt.Errorf("seed demo roles: %s missing from the Logto stand-in", a.Email)
		}
		email, name := a.Email, a.Name
		if _, err := client.Api.Users.SyncUser(ctx, models.UserCreate{Key: u.ID, Email: &email, FirstName: &name}); err != nil {
			return fmt.Errorf("seed demo user %s: %w", a.Email, err)
		}
		if a.Role == "" {
			continue
		}
		if _, err := client.Api.Users.AssignRole(ctx, u.ID, a.Role, s.Permit.Tenant); err != nil && !isConflict(err) {
			return fmt.Errorf("seed demo role %s for %s: %w", a.Role, a.Email, err)
		}
	}
	return nil
}

func isConflict(err error) bool {
	var pe perrs.PermitError
	return errors.As(err, &pe) && pe.StatusCode == http.StatusConflict
}
