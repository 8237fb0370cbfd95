package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"reportgate/internal/config"
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

	settings, err := config.Environment(getenv)
	if err != nil {
		return fmt.Errorf("policy apply: %w", err)
	}
	get := func(name string) string { v, _ := settings(name); return v }
	client, err := policy.Remote{APIKey: get("PERMIT_API_KEY"), APIURL: get("PERMIT_API_URL"),
		Project: get("PERMIT_PROJECT"), Environment: get("PERMIT_ENVIRONMENT")}.Client()
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
