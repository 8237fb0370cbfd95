package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	permitsdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"

	appconfig "reportgate/internal/config"
	"reportgate/internal/policy"
)

const policyUsage = `Usage:
  reportgate policy apply [--dry-run] [--prune]

Creates or updates, in a Permit.io environment, the resources and roles of
the policy built into this binary, and prints one line per change.
Running it again prints "no changes".

Settings (environment, then ./.env):
  PERMIT_API_KEY       an environment-level Permit API key (required)
  PERMIT_API_URL       the Permit API (default https://api.permit.io)
  PERMIT_PROJECT       project key or id  } optional, set both or neither; without
  PERMIT_ENVIRONMENT   environment key/id } them the key's own project and environment
                                            are looked up (GET /v2/api-key/scope)
`

// policyRequestTimeout bounds each Permit API call. The SDK's REST calls take
// the context, but the client timeout is what bounds a hung connection in
// every SDK path, including the lazy scope call.
const policyRequestTimeout = 10 * time.Second

// policyCmd runs `reportgate policy <subcommand>`; args are what follows
// "policy".
func policyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy apply", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "print the changes that would be made and write nothing")
	prune := fs.Bool("prune", false, "also remove what the policy does not declare: extra actions,\n"+
		"permissions and parents, and whole resources and roles.\nWithout it nothing is ever deleted.")
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return errors.New("policy: no subcommand given")
	}
	switch args[0] {
	case "apply":
	case "help", "-h", "--help":
		_, err := parseFlags(fs, policyUsage, []string{"-h"}, stdout, stderr)
		return err
	default:
		fmt.Fprint(stderr, policyUsage)
		return fmt.Errorf("policy: unknown subcommand %q", args[0])
	}
	if help, err := parseFlags(fs, policyUsage, args[1:], stdout, stderr); help || err != nil {
		if err != nil {
			return fmt.Errorf("policy apply: %w", err)
		}
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("policy apply: unexpected arguments %q", fs.Args())
	}

	settings, err := environment(getenv)
	if err != nil {
		return fmt.Errorf("policy apply: %w", err)
	}
	client, err := policyClient(func(name string) string { v, _ := settings(name); return v })
	if err != nil {
		return fmt.Errorf("policy apply: %w", err)
	}
	desired, err := policy.Default()
	if err != nil {
		return fmt.Errorf("policy apply: %w", err)
	}
	if _, err := policy.Apply(ctx, client, desired, *prune, *dryRun, stdout); err != nil {
		return fmt.Errorf("policy apply: %w", err)
	}
	return nil
}

// policyClient builds the SDK client from the environment, reporting every
// problem at once.
//
// The config gets its own http.Client with a timeout (WithTimeout is not
// used: it mutates the client it is given) and a no-op zap
// logger: the SDK would log every failure, including the expected 409 and
// 404 that Apply handles, at Error level, and Apply returns the cause
// wrapped instead. With PERMIT_PROJECT and PERMIT_ENVIRONMENT, WithContext
// skips the scope call, whose failures all look alike (an empty
// ContextError).
func policyClient(getenv func(string) string) (*permitsdk.Client, error) {
	var problems []error
	key := getenv("PERMIT_API_KEY")
	if key == "" {
		problems = append(problems, errors.New("PERMIT_API_KEY is required (an environment-level Permit API key)"))
	}
	apiURL, err := permitAPIURL(getenv("PERMIT_API_URL"))
	if err != nil {
		problems = append(problems, err)
	}
	project, env := getenv("PERMIT_PROJECT"), getenv("PERMIT_ENVIRONMENT")
	if (project == "") != (env == "") {
		problems = append(problems, errors.New("set both PERMIT_PROJECT and PERMIT_ENVIRONMENT, or neither"))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}

	b := config.NewConfigBuilder(key).
		WithApiUrl(apiURL).
		WithHTTPClient(&http.Client{Timeout: policyRequestTimeout}).
		WithLogger(zap.NewNop())
	if project != "" {
		b.WithContext(config.NewPermitContext(config.EnvironmentAPIKeyLevel, project, env))
	}
	return permitsdk.New(b.Build()), nil
}

// permitAPIURL validates PERMIT_API_URL. The SDK splits it naively into
// scheme and host, so it must be scheme://host[:port]: a trailing slash
// breaks every call and a path is dropped. Trailing slashes
// are trimmed; a path is refused.
func permitAPIURL(raw string) (string, error) {
	if raw == "" {
		return appconfig.DefaultPermitAPIURL, nil
	}
	u, err := appconfig.ParseBaseURL(raw, false)
	if err != nil {
		return "", fmt.Errorf("PERMIT_API_URL %w", err)
	}
	return u.String(), nil
}
