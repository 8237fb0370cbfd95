// Command reportgate is the whole product in one binary: the web app
// (serve), the offline development setup with local Logto and Permit
// stand-ins (dev), the stand-ins alone (devstack), and operator tools.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"reportgate/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reportgate:", err)
		os.Exit(1)
	}
}

const usage = `reportgate — sign-in with Logto, reports gated by Permit.io

Usage:
  reportgate serve      run the app (production; settings from the environment and .env)
  reportgate dev        run the app with local Logto and Permit stand-ins, offline
  reportgate devstack   run only the local stand-ins and print the settings serve needs
  reportgate policy apply [--dry-run] [--prune]
                        create or update the Permit resources and roles of the embedded policy
  reportgate migrate    apply database migrations (serve also does at start-up)
  reportgate backfill [--dry-run] [--start-page N]
                        sync Logto users whose webhooks were lost
  reportgate grant --email E --role R
                        set a Logto user's Permit role (e.g. the first admin)
  reportgate loadtest webhooks|http [--url URL] …
                        drive a running instance and print req/s, p50, p99 and status counts
  reportgate probe [URL]
                        exit 0 when the app's /readyz answers 200 (container health checks)
  reportgate version    print the version (also --version, -v)

Run "reportgate <command> -h" for a command's usage and flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "dev":
		return dev(ctx, args[1:], getenv, stdout, stderr)
	case "devstack":
		return devstackCmd(ctx, args[1:], getenv, stdout, stderr)
	case "policy":
		return policyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "backfill":
		return backfill(ctx, args[1:], getenv, stdout, stderr)
	case "grant":
		return grant(ctx, args[1:], getenv, stdout, stderr)
	case "probe":
		return probeCmd(ctx, args[1:], getenv, stdout, stderr)
	case "loadtest":
		return loadtestCmd(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "reportgate", buildinfo.Version(version))
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
