package policy

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	sdkconfig "github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	"reportgate/internal/config"
)

// requestTimeout bounds each Permit API call. The SDK's REST calls take
// the context, but the client timeout is what bounds a hung connection in
// every SDK path, including the lazy scope call.
const requestTimeout = 10 * time.Second

// Remote is the Permit environment a policy is applied to, as the PERMIT_*
// settings name it.
type Remote struct {
	APIKey string // PERMIT_API_KEY, an environment-level key
	APIURL string // PERMIT_API_URL; "" is Permit's own
	// Project and Environment (PERMIT_PROJECT, PERMIT_ENVIRONMENT), both
	// or neither: without them the key's own are looked up.
	Project, Environment string
}

// Client builds the SDK client for r, reporting every problem at once.
//
// The config gets its own http.Client with a timeout (WithTimeout is not
// used: it mutates the client it is given) and a no-op zap
// logger: the SDK would log every failure, including the expected 409 and
// 404 that Apply handles, at Error level, and Apply returns the cause
// wrapped instead. With a project and environment, WithContext skips the
// scope call, whose failures all look alike (an empty ContextError).
func (r Remote) Client() (*permit.Client, error) {
	var problems []error
	if r.APIKey == "" {
		problems = append(problems, errors.New("PERMIT_API_KEY is required (an environment-level Permit API key)"))
	}
	apiURL, err := apiURL(r.APIURL)
	if err != nil {
		problems = append(problems, err)
	}
	if (r.Project == "") != (r.Environment == "") {
		problems = append(problems, errors.New("set both PERMIT_PROJECT and PERMIT_ENVIRONMENT, or neither"))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}

	b := sdkconfig.NewConfigBuilder(r.APIKey).
		WithApiUrl(apiURL).
		WithHTTPClient(&http.Client{Timeout: requestTimeout}).
		WithLogger(zap.NewNop())
	if r.Project != "" {
		b.WithContext(sdkconfig.NewPermitContext(sdkconfig.EnvironmentAPIKeyLevel, r.Project, r.Environment))
	}
	return permit.New(b.Build()), nil
}

// apiURL validates PERMIT_API_URL. The SDK splits it naively into
// scheme and host, so it must be scheme://host[:port]: a trailing slash
// breaks every call and a path is dropped. Trailing slashes
// are trimmed; a path is refused.
func apiURL(raw string) (string, error) {
	if raw == "" {
		return config.DefaultPermitAPIURL, nil
	}
	u, err := config.ParseBaseURL(raw, false)
	if err != nil {
		return "", fmt.Errorf("PERMIT_API_URL %w", err)
	}
	return u.String(), nil
}
