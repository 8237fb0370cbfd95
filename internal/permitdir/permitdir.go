// Package permitdir writes reportgate's users and their role assignments
// into the Permit.io directory through the REST API of permit-golang
// v1.2.8 (never the PDP). It is the adapter behind provision's Permit
// interface: every method is idempotent, so a job that is retried, rescued
// after a crash or replayed converges on the same directory state.
//
// What the SDK (permit-golang v1.2.8) forces here:
//
//   - The SDK's REST calls take a context, but it also has one shared
//     http.Client whose Timeout is the only bound on the lazy scope call and
//     the enforcement calls. We give it our own copy of the client
//     with Timeout set, so every call is bounded twice: by the caller's
//     context and by Config.Timeout. WithTimeout is not used because it
//     mutates a client the caller may share.
//   - The first REST call of an SDK client without a PermitContext makes a
//     GET /v2/api-key/scope and writes the result into the config without a
//     lock; concurrent first calls race, and a refused connection on
//     that call surfaces as a ContextError with an empty message.
//     So either Config.Project and Config.Environment are given and the SDK
//     gets WithContext up front, or this package makes the scope call itself,
//     once, under a mutex, with a real error, and only then builds the SDK
//     client with WithContext.
//   - Duplicate creates and duplicate role assignments answer 409;
//     both mean "already there" and count as success. But Permit also keeps
//     an email unique in an environment and answers 409 for a user write
//     that would repeat one; SyncUser tells the two apart by looking the
//     email up, and names the user holding it in an *EmailTakenError.
//   - Users.Create and GetAssignedRoles panic on an empty 2xx body; the
//     calls are wrapped so a misbehaving server is an error, not a crash.
package permitdir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/permitio/permit-golang/pkg/api"
	"github.com/permitio/permit-golang/pkg/config"
	perrs "github.com/permitio/permit-golang/pkg/errors"
	"github.com/permitio/permit-golang/pkg/models"
	"github.com/permitio/permit-golang/pkg/openapi"
	"github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	appconfig "reportgate/internal/config"
	"reportgate/internal/fault"
)

const (
	// rolesPerPage is the SDK's maximum page size for GetAssignedRoles and
	// for listing users.
	rolesPerPage = 100
)

// ErrUnavailable marks failures worth retrying: the API could not be reached,
// timed out, or answered 429 or 5xx. Other failures (401, 403, 422) will not
// go away by themselves, though a job queue may still retry them.
var ErrUnavailable = fmt.Errorf("permit API %w", fault.Unavailable)

// Config configures a Client.
type Config struct {
	// APIKey is the Permit API key (environment-level, or any level when
	// Project and Environment are set).
	APIKey string
	// APIURL is the REST API base, scheme://host[:port]. A trailing slash
	// breaks every SDK call, so it is trimmed. "" → Permit's public API.
	APIURL string
	// Tenant is the tenant of role assignments; "" → the PERMIT_TENANT default.
	Tenant string
	// Project and Environment, when both set, are the keys (or ids) used in
	// API paths and skip the scope call entirely (SDK WithContext). Otherwise the
	// API key's scope decides them, and it must be environment-level.
	Project, Environment string
	// Timeout bounds every HTTP request; 0 → the PERMIT_TIMEOUT default.
	Timeout time.Duration
	// HTTPClient supplies the transport; it is copied, never mutated. nil →
	// a client on http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives the SDK's own logging; nil → none. The SDK logs at
	// Error level even for the expected 404 inside a sync.
	Logger *zap.Logger
}

// Client writes users and role assignments to Permit. It is safe for
// concurrent use.
type Client struct {
	apiURL, apiKey, tenant string
	http                   *http.Client
	logger                 *zap.Logger

	mu  sync.Mutex
	sdk *conn // nil until the scope is known
}

// conn is the SDK's client for one project and environment, and its
// generated REST client for the one call the SDK does not expose whole:
// Users.List without the search filter.
type conn struct {
	*permit.Client
	rest                 *openapi.APIClient
	project, environment string
}

// New validates cfg and returns a Client. It makes no network call; when the
// scope has to be looked up, the first method call (or Resolve) does it.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("permitdir: APIKey is required")
	}
	if (cfg.Project == "") != (cfg.Environment == "") {
		return nil, errors.New("permitdir: set both Project and Environment, or neither")
	}
	c := &Client{
		apiURL: strings.TrimRight(cfg.APIURL, "/"),
		apiKey: cfg.APIKey,
		tenant: cfg.Tenant,
		logger: cfg.Logger,
	}
	if c.apiURL == "" {
		c.apiURL = appconfig.DefaultPermitAPIURL
	}
	if _, err := appconfig.ParseHTTPURL(c.apiURL); err != nil {
		return nil, fmt.Errorf("permitdir: APIURL %w", err)
	}
	if c.tenant == "" {
		c.tenant = appconfig.DefaultPermitTenant
	}
	if c.logger == nil {
		c.logger = zap.NewNop()
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = appconfig.DefaultPermitTimeout
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.Timeout = timeout
	c.http = hc
	if cfg.Project != "" {
		c.sdk = c.build(cfg.Project, cfg.Environment)
	}
	return c, nil
}

func (c *Client) build(project, env string) *conn {
	cfg := config.NewConfigBuilder(c.apiKey).
		WithApiUrl(c.apiURL).
		WithHTTPClient(c.http).
		WithLogger(c.logger).
		WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, project, env)).
		Build()
	return &conn{Client: permit.New(cfg), rest: openapi.NewAPIClient(api.NewClientConfig(&cfg)), project: project, environment: env}
}

// Resolve makes sure the API key's scope is known, looking it up once if
// Config did not give it. Call it at start to fail fast on a bad key or URL;
// every other method calls it too.
func (c *Client) Resolve(ctx context.Context) error {
	_, err := c.client(ctx)
	return err
}

func (c *Client) client(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sdk != nil {
		return c.sdk, nil
	}
	project, env, err := c.scope(ctx)
	if err != nil {
		return nil, err
	}
	c.sdk = c.build(project, env)
	return c.sdk, nil
}

// scope is GET /v2/api-key/scope, done here rather than by the SDK so that
// a refused connection reads as one (the SDK reports an empty
// ContextError).
func (c *Client) scope(ctx context.Context) (project, env string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiURL+"/v2/api-key/scope", nil)
	if err != nil {
		return "", "", fmt.Errorf("permit scope: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("permit scope: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", "", fmt.Errorf("permit scope: %w: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("permit scope: HTTP %d", resp.StatusCode)
		if retryableStatus(resp.StatusCode) {
			err = fmt.Errorf("%w: %w", err, ErrUnavailable)
		}
		return "", "", err
	}
	var s struct {
		ProjectID     string `json:"project_id"`
		EnvironmentID string `json:"environment_id"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return "", "", fmt.Errorf("permit scope: %w", err)
	}
	if s.ProjectID == "" || s.EnvironmentID == "" {
		return "", "", errors.New("permit scope: API key is not environment-level; set Project and Environment")
	}
	return s.ProjectID, s.EnvironmentID, nil
}

// SyncUser creates or updates the user key with email and name. Logto has a
// single display name, so name goes whole into first_name. Like the SDK's
// SyncUser it is a GET then a PATCH or POST, so it never clears a field;
// a 409 on the POST means a concurrent first sync won the race, and the
// PATCH that follows applies our values.
//
// Permit keeps an email unique in an environment and answers 409 for a
// create or update that would repeat one. When another user holds email,
// SyncUser returns an *EmailTakenError naming it and changes nothing.
func (c *Client) SyncUser(ctx context.Context, key, email, name string) error {
	sdk, err := c.client(ctx)
	if err != nil {
		return fmt.Errorf("sync permit user %s: %w", key, err)
	}
	_, err = guard(func() (*models.UserRead, error) { return sdk.Api.Users.Get(ctx, key) })
	switch {
	case isCode(err, perrs.NotFound):
		in := *models.NewUserCreate(key)
		if email != "" {
			in.SetEmail(email)
		}
		if name != "" {
			in.SetFirstName(name)
		}
		_, err = guard(func() (*models.UserRead, error) { return sdk.Api.Users.Create(ctx, in) })
		if err == nil {
			return nil
		}
		if !isCode(err, perrs.Conflict) {
			return fmt.Errorf("create permit user %s: %w", key, classify(err))
		}
		if err := c.checkEmailFree(ctx, sdk, key, email); err != nil {
			return fmt.Errorf("create permit user %s: %w", key, err)
		}
	case err != nil:
		return fmt.Errorf("get permit user %s: %w", key, classify(err))
	}
	upd := *models.NewUserUpdate()
	if email != "" {
		upd.SetEmail(email)
	}
	if name != "" {
		upd.SetFirstName(name)
	}
	_, err = guard(func() (*models.UserRead, error) { return sdk.Api.Users.Update(ctx, key, upd) })
	if isCode(err, perrs.Conflict) {
		if takenErr := c.checkEmailFree(ctx, sdk, key, email); takenErr != nil {
			err = takenErr
		}
	}
	if err != nil {
		return fmt.Errorf("update permit user %s: %w", key, classify(err))
	}
	return nil
}

// EmailTakenError is Permit refusing to give Key the email Email because
// the Permit user Holder already has it.
type EmailTakenError struct {
	Key, Email, Holder string
}

func (e *EmailTakenError) Error() string {
	return fmt.Sprintf("permit user %s already has the email %s", e.Holder, e.Email)
}

// checkEmailFree explains a 409 on writing key with email: an
// *EmailTakenError when another user holds the email, nil when none does
// (the 409 was about the key itself).
func (c *Client) checkEmailFree(ctx context.Context, sdk *conn, key, email string) error {
	if email == "" {
		return nil
	}
	holder, err := c.emailHolder(ctx, sdk, email)
	if err != nil {
		return err
	}
	if holder != "" && holder != key {
		return &EmailTakenError{Key: key, Email: email, Holder: holder}
	}
	return nil
}

// emailHolder finds the key of the user whose email is email, or "". The
// API's search is a text search (not an exact match), so the results are
// filtered here.
func (c *Client) emailHolder(ctx context.Context, sdk *conn, email string) (string, error) {
	page, err := guard(func() (*models.PaginatedResultUserRead, error) {
		page, resp, err := sdk.rest.UsersApi.ListUsers(ctx, sdk.project, sdk.environment).
			Search(email).Page(1).PerPage(rolesPerPage).Execute()
		return page, perrs.HttpErrorHandle(err, resp)
	})
	if err != nil {
		return "", fmt.Errorf("find the holder of %s: %w", email, classify(err))
	}
	for _, u := range page.GetData() {
		if u.Email != nil && strings.EqualFold(*u.Email, email) {
			return u.Key, nil
		}
	}
	return "", nil
}

// AssignRole gives key the role in the configured tenant. Already assigned
// (409) counts as success.
func (c *Client) AssignRole(ctx context.Context, key, role string) error {
	return c.write(ctx, fmt.Sprintf("assign %s to %s", role, key), perrs.Conflict, func(sdk *conn) error {
		_, err := guard(func() (*models.RoleAssignmentRead, error) { return sdk.Api.Users.AssignRole(ctx, key, role, c.tenant) })
		return err
	})
}

// UnassignRole removes the role from key in the configured tenant. Not
// assigned (404) counts as success.
func (c *Client) UnassignRole(ctx context.Context, key, role string) error {
	return c.write(ctx, fmt.Sprintf("unassign %s from %s", role, key), perrs.NotFound, func(sdk *conn) error {
		_, err := guard(func() (*models.UserRead, error) { return sdk.Api.Users.UnassignRole(ctx, key, role, c.tenant) })
		return err
	})
}

// AssignedRoles lists the role keys key holds in the configured tenant.
func (c *Client) AssignedRoles(ctx context.Context, key string) ([]string, error) {
	sdk, err := c.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", key, err)
	}
	var roles []string
	for page := 1; ; page++ {
		got, err := guard(func() ([]models.RoleAssignmentRead, error) {
			return sdk.Api.Users.GetAssignedRoles(ctx, key, c.tenant, page, rolesPerPage)
		})
		if err != nil {
			return nil, fmt.Errorf("roles of %s: %w", key, classify(err))
		}
		for _, a := range got {
			roles = append(roles, a.Role)
		}
		if len(got) < rolesPerPage {
			return roles, nil
		}
	}
}

// DeleteUser removes key (and with it its role assignments). Already gone
// (404) counts as success.
func (c *Client) DeleteUser(ctx context.Context, key string) error {
	return c.write(ctx, "delete permit user "+key, perrs.NotFound, func(sdk *conn) error {
		_, err := guard(func() (struct{}, error) { return struct{}{}, sdk.Api.Users.Delete(ctx, key) })
		return err
	})
}

// write runs one idempotent directory write, named what in its errors.
// The SDK error code done means already there (or already gone) and counts
// as success.
func (c *Client) write(ctx context.Context, what string, done perrs.ErrorCode, call func(*conn) error) error {
	sdk, err := c.client(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := call(sdk); err != nil && !isCode(err, done) {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}

// guard turns an SDK panic (empty 2xx bodies) into an error.
func guard[T any](call func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: permit SDK panicked on the reply: %v", ErrUnavailable, r)
		}
	}()
	return call()
}

func isCode(err error, code perrs.ErrorCode) bool {
	var pe perrs.PermitError
	return errors.As(err, &pe) && pe.ErrorCode == code
}

// classify gives SDK errors a readable message and marks the retryable ones
// with ErrUnavailable.
func classify(err error) error {
	var pe perrs.PermitError
	if errors.As(err, &pe) {
		switch {
		case pe.ErrorCode == perrs.ContextError:
			// A refused connection during the SDK's scope lookup
			// comes back as a ContextError with no message at all.
			return fmt.Errorf("%w: no answer from the Permit API (connection refused or scope lookup failed): %w", ErrUnavailable, err)
		case pe.StatusCode == 0 || retryableStatus(pe.StatusCode):
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}
