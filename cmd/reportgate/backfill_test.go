package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/permitdir"
)

func TestBackfillRepairsLostWebhooks(t *testing.T) {
	t.Chdir(t.TempDir())
	dataDir := t.TempDir()
	// Webhooks go to a closed port: every one of them is lost.
	pr, pw := io.Pipe()
	runInBackground(t, []string{"devstack", "--logto-addr", "127.0.0.1:0", "--permit-addr", "127.0.0.1:0",
		"--data", dataDir, "--webhook-url", "http://127.0.0.1:1/webhooks/logto"}, nil, pw)
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(sc.Text(), "#") {
			env[k] = v
		}
		if strings.HasPrefix(sc.Text(), "# Demo accounts") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	dbPath := filepath.Join(t.TempDir(), "app.db")
	env["REPORTGATE_DATABASE_URL"] = "sqlite:" + dbPath
	d := &devInstance{logtoURL: env["LOGTO_ENDPOINT"]}
	for _, email := range []string{"lost1@example.com", "lost2@example.com", "lost3@example.com"} {
		if r := management(t, d, dataDir, http.MethodPost, "/api/users", `{"primaryEmail":"`+email+`","name":"Lost","password":"long-enough-pw"}`); r.StatusCode != http.StatusOK {
			t.Fatalf("create %s: %d", email, r.StatusCode)
		}
	}
	backfillRun := func(args ...string) string {
		var out strings.Builder
		if err := run(context.Background(), append([]string{"backfill"}, args...), func(k string) string { return env[k] }, &out, io.Discard); err != nil {
			t.Fatalf("backfill %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	jobs := func() int {
		db, err := database.Open(context.Background(), env["REPORTGATE_DATABASE_URL"])
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job`).Scan(&n)
		return n
	}

	if out := backfillRun("--dry-run"); !strings.Contains(out, "7 Logto users seen; would queue 7 sync jobs") || jobs() != 0 {
		t.Fatalf("dry run queued %d jobs:\n%s", jobs(), out)
	}
	out := backfillRun()
	if !strings.Contains(out, "7 sync jobs queued") || !strings.Contains(out, "backfill: 7/7 users") {
		t.Fatalf("first run:\n%s", out)
	}
	first := jobs()
	backfillRun()
	if again := jobs(); first != 7 || again != first {
		t.Fatalf("jobs after the first run %d, after the second %d; want 7 both times", first, again)
	}

	// The app's workers carry the queued syncs out.
	addr := freeAddr(t)
	serveEnv := map[string]string{"REPORTGATE_ADDR": addr}
	for k, v := range env {
		serveEnv[k] = v
	}
	runInBackground(t, []string{"serve"}, serveEnv, io.Discard)
	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	lost1 := userID(t, d, dataDir, "lost1@example.com")
	recorded := func() bool {
		db, err := database.Open(context.Background(), env["REPORTGATE_DATABASE_URL"])
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM users WHERE id = $1`, lost1).Scan(&n)
		return n == 1
	}
	// The job grants the role, then records the person for the report.
	eventually(t, 30*time.Second, "the lost sign-up to be in Permit as viewer and recorded", func() bool {
		roles, err := dir.AssignedRoles(context.Background(), lost1)
		return err == nil && len(roles) == 1 && roles[0] == "viewer" && recorded()
	})

	// A deletion whose webhook was lost.
	if r := management(t, d, dataDir, http.MethodDelete, "/api/users/"+lost1, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if out := backfillRun(); !strings.Contains(out, "1 deleted here") {
		t.Fatalf("after a lost deletion:\n%s", out)
	}
	eventually(t, 30*time.Second, "the deleted user to leave Permit", func() bool {
		roles, err := dir.AssignedRoles(context.Background(), lost1)
		return err == nil && len(roles) == 0
	})
}
