package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/permitdir"
	"reportgate/internal/testkit"
	"reportgate/internal/webhook"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runInBackground runs a subcommand until the test ends.
func runInBackground(t testing.TB, args []string, env map[string]string, stdout io.Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, stdout, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", args[0], err)
		}
	})
}

func waitHealthy(t testing.TB, addr string) {
	t.Helper()
	eventually(t, 30*time.Second, addr+" to serve", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// startDevstack runs the Logto and Permit stand-ins, delivering webhooks
// to webhookURL, and returns the settings it prints for the app.
func startDevstack(t testing.TB, webhookURL string) map[string]string {
	t.Helper()
	pr, pw := io.Pipe()
	runInBackground(t, []string{"devstack", "--logto-addr", "127.0.0.1:0", "--permit-addr", "127.0.0.1:0",
		"--data", t.TempDir(), "--webhook-url", webhookURL}, nil, pw)
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
		if strings.HasPrefix(line, "# Demo accounts") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	return env
}

// withAddr is env with REPORTGATE_ADDR set.
func withAddr(env map[string]string, addr string) map[string]string {
	e := map[string]string{"REPORTGATE_ADDR": addr}
	for k, v := range env {
		e[k] = v
	}
	return e
}

// TestTwoReplicasOnOnePostgres runs two `serve` processes' worth of app on
// one PostgreSQL database behind one base URL, as behind a load balancer.
func TestTwoReplicasOnOnePostgres(t *testing.T) {
	pgURL := databasetest.OpenURL(t, database.Postgres)
	t.Chdir(t.TempDir())
	addrA, addrB := freeAddr(t), freeAddr(t)
	env := startDevstack(t, "http://"+addrA+"/webhooks/logto")
	env["REPORTGATE_DATABASE_URL"] = pgURL
	envFor := func(addr string) map[string]string { return withAddr(env, addr) }
	runInBackground(t, []string{"serve"}, envFor(addrA), io.Discard)
	waitHealthy(t, addrA) // A migrates first; B then finds the schema current
	runInBackground(t, []string{"serve"}, envFor(addrB), io.Discard)
	waitHealthy(t, addrB)

	// A session made on A works on B (the load balancer keeps the Host).
	d := &devInstance{appURL: env["REPORTGATE_BASE_URL"], logtoURL: env["LOGTO_ENDPOINT"]}
	p := newPerson(t)
	if !p.signIn(d, "viewer@example.com").Has("user-name") {
		t.Fatal("sign-in through A failed")
	}
	// getOnB GETs path from B with p's cookies, as a load balancer that
	// keeps the Host would send it.
	getOnB := func(path string) testkit.Page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addrB+path, nil)
		req.Host = addrA
		for _, c := range p.client.Jar.Cookies(mustURL(t, d.appURL)) {
			req.AddCookie(c)
		}
		return testkit.Open(t, http.DefaultClient, req)
	}
	if home := getOnB("/"); !strings.Contains(home.Body, `data-testid="user-name"`) {
		t.Fatalf("B does not know A's session (status %d)", home.Status)
	}

	// One delivery reaching both replicas is handled once.
	event := `{"event":"User.Created","createdAt":"` + time.Now().UTC().Format("2006-01-02T15:04:05.000Z") +
		`","userAgent":"Go-http-client/1.1","ip":"::ffff:127.0.0.1","path":"/users","method":"POST","status":200,"params":{},"matchedRoute":"/users","data":{"id":"replica0user","username":null,"primaryEmail":"replica@example.com","primaryPhone":null,"name":"Rep Lica","avatar":null,"customData":{},"identities":{},"lastSignInAt":null,"createdAt":1764324000000,"updatedAt":1764324000000,"profile":{},"applicationId":null,"isSuspended":false,"hasPassword":true},"hookId":"hook0000000000000000a"}`
	sig := webhook.Sign([]byte(event), env["LOGTO_WEBHOOK_SIGNING_KEY"])
	for _, addr := range []string{addrA, addrB, addrA} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/logto", strings.NewReader(event))
		req.Header.Set(webhook.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delivery to %s: %d", addr, resp.StatusCode)
		}
	}
	dir, err := permitdir.New(permitdir.Config{APIKey: env["PERMIT_API_KEY"], APIURL: env["PERMIT_API_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the user to be in Permit with the viewer role", func() bool {
		roles, err := dir.AssignedRoles(context.Background(), "replica0user")
		return err == nil && len(roles) == 1 && roles[0] == "viewer"
	})
	db, err := database.Open(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM webhook_events WHERE user_id = 'replica0user'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Fatalf("%d events recorded for one delivery sent three times, want 1", events)
	}
	t.Logf("one delivery sent 3× to two replicas: %d event recorded, one Permit user with roles [viewer]", events)

	// B has the report cached (30 s); a person signing up through A shows
	// on B's report well before that, because A tells B to drop it.
	totalOnB := func() string { return getOnB("/reports").TestID("report-total").Text() }
	before, err := strconv.Atoi(totalOnB())
	if err != nil {
		t.Fatalf("report on B: %v", err)
	}
	if !newPerson(t).signUp(d, "Katherine Johnson", "katherine@example.com").Has("user-name") {
		t.Fatal("sign-up through A failed")
	}
	eventually(t, 10*time.Second, "B's cached report to count the new sign-up", func() bool {
		return totalOnB() == strconv.Itoa(before+1)
	})
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
