package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
)

// TestHelpOnEveryCommand: asking for help is not a failure. The usage goes
// to stdout, nothing to stderr, and nothing starts.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env; dev must not create ./data
	for _, cmd := range [][]string{
		{}, {"serve"}, {"dev"}, {"devstack"}, {"policy"}, {"policy", "apply"}, {"migrate"},
		{"backfill"}, {"grant"}, {"probe"}, {"loadtest"}, {"loadtest", "webhooks"}, {"loadtest", "http"},
	} {
		for _, flag := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), flag)
			var stdout, stderr strings.Builder
			err := run(context.Background(), args, envFrom(nil), &stdout, &stderr)
			if err != nil || !strings.Contains(stdout.String(), "Usage") || stderr.Len() != 0 {
				t.Errorf("reportgate %s: err %v\nstdout %q\nstderr %q", strings.Join(args, " "), err, stdout.String(), stderr.String())
			}
		}
	}
	if _, err := os.Stat("data"); err == nil {
		t.Error("dev --help created ./data")
	}
}

func TestBadFlagFailsWithUsageOnStderr(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr strings.Builder
	err := run(context.Background(), []string{"grant", "--bogus"}, envFrom(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-bogus") || !strings.Contains(stderr.String(), "Usage") || stdout.Len() != 0 {
		t.Fatalf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-v"} {
		var out strings.Builder
		if err := run(context.Background(), []string{arg}, envFrom(nil), &out, &out); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if !strings.HasPrefix(out.String(), "reportgate ") || strings.Contains(out.String(), "(devel)") {
			t.Errorf("%s: %q", arg, out.String())
		}
	}
}

// TestMigrateNeedsOnlyTheDatabase: from the environment or ./.env, and
// without any of serve's other settings.
func TestMigrateNeedsOnlyTheDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out strings.Builder
	err := run(context.Background(), []string{"migrate"}, envFrom(nil), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "REPORTGATE_DATABASE_URL") || strings.Contains(err.Error(), "LOGTO") {
		t.Fatalf("migrate without a database: %v", err)
	}
	env := map[string]string{"REPORTGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "env.db")}
	if err := run(context.Background(), []string{"migrate"}, envFrom(env), &out, &out); err != nil {
		t.Fatalf("migrate with only REPORTGATE_DATABASE_URL: %v", err)
	}
	if err := os.WriteFile(".env", []byte("REPORTGATE_DATABASE_URL=sqlite:"+filepath.Join(dir, "dotenv.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"migrate"}, envFrom(nil), &out, &out); err != nil {
		t.Fatalf("migrate with the database in .env: %v", err)
	}
	for _, name := range []string{"env.db", "dotenv.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not migrated: %v", name, err)
		}
	}
}

// TestPolicyApplyReadsDotEnv, as every other command does.
func TestPolicyApplyReadsDotEnv(t *testing.T) {
	url, writes := startPolicyStandin(t)
	t.Chdir(t.TempDir())
	dotenv := "PERMIT_API_KEY=" + policyTestKey + "\nPERMIT_API_URL=" + url + "\n"
	if err := os.WriteFile(".env", []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"policy", "apply"}, envFrom(nil), &out, &out); err != nil {
		t.Fatalf("policy apply with settings in .env: %v\n%s", err, out.String())
	}
	if writes.Load() == 0 {
		t.Error("nothing was written to Permit")
	}
}

// TestGrantCommand runs `reportgate grant` against a running dev: the
// analyst becomes a viewer in Permit and in the snapshot /admin/users shows.
func TestGrantCommand(t *testing.T) {
	_, env, db, id := devWithAnalystSignedIn(t)
	users := people.NewStore(db, nil)
	snapshot := func() string {
		u, err := users.Get(context.Background(), id)
		if err != nil {
			return err.Error()
		}
		return strings.Join(u.Roles, ",")
	}
	// The snapshot taken at sign-in, so it cannot land after the grant.
	eventually(t, 10*time.Second, "the sign-in's role snapshot", func() bool { return snapshot() == "analyst" })

	t.Chdir(t.TempDir())
	var out strings.Builder
	if err := run(context.Background(), []string{"grant", "--email", "analyst@example.com", "--role", "viewer"},
		envFrom(env), &out, &out); err != nil {
		t.Fatalf("grant: %v\n%s", err, out.String())
	}
	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	if held, err := dir.AssignedRoles(context.Background(), id); err != nil || strings.Join(held, ",") != "viewer" {
		t.Errorf("roles in Permit: %v (%v), want only viewer", held, err)
	}
	if got := snapshot(); got != "viewer" {
		t.Errorf("local snapshot %q, want viewer", got)
	}
	entries, _, err := audit.New(db, 0, nil).List(context.Background(), audit.Filter{Actor: audit.ActorCLI}, 0, 0)
	if err != nil || len(entries) != 1 || entries[0].SubjectID != id || entries[0].Role != "viewer" || entries[0].Action != audit.RoleGranted {
		t.Errorf("audit entries by cli = %+v (%v), want one viewer grant to %s", entries, err, id)
	}
}
