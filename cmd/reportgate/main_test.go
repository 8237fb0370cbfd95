package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestServeNamesEveryMissingSetting(t *testing.T) {
	t.Chdir(t.TempDir()) // no stray .env
	err := run(context.Background(), []string{"serve"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started without settings")
	}
	for _, name := range []string{"REPORTGATE_BASE_URL", "REPORTGATE_SESSION_SECRET", "REPORTGATE_DATABASE_URL",
		"LOGTO_ENDPOINT", "LOGTO_APP_ID", "LOGTO_APP_SECRET", "PERMIT_API_KEY", "LOGTO_WEBHOOK_SIGNING_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestServeRefusesWeakSettings(t *testing.T) {
	t.Chdir(t.TempDir())
	env := map[string]string{
		"REPORTGATE_BASE_URL":       "reports.example.com",
		"REPORTGATE_SESSION_SECRET": "too-short",
		"REPORTGATE_DATABASE_URL":   "sqlite:" + t.TempDir() + "/db",
		"LOGTO_ENDPOINT":            "https://x.logto.app",
		"LOGTO_APP_ID":              "a",
		"LOGTO_APP_SECRET":          "b",
	}
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "REPORTGATE_SESSION_SECRET is too weak") || !strings.Contains(err.Error(), "REPORTGATE_BASE_URL must be an absolute URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestMainExitsNonZeroOnMissingSettings(t *testing.T) {
	t.Parallel()
	if os.Getenv("REPORTGATE_TEST_MAIN") == "1" {
		os.Args = []string{"reportgate", "serve"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitsNonZeroOnMissingSettings$")
	cmd.Env = []string{"REPORTGATE_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() == 0 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "LOGTO_APP_SECRET") {
		t.Errorf("output does not name the missing settings:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, os.Getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "reportgate ") {
		t.Errorf("version output %q", out.String())
	}
}

// devInstance is `reportgate dev` running in-process on free ports.
type devInstance struct {
	appURL, logtoURL string
	permitURL        string
	metricsURL       string // "" when the metrics listener is off
	stop             func()
}

func startDev(t testing.TB, dataDir string, extraArgs ...string) *devInstance {
	t.Helper()
	return startDevEnv(t, nil, dataDir, extraArgs...)
}

// startDevEnv is startDev with settings from env.
func startDevEnv(t testing.TB, env map[string]string, dataDir string, extraArgs ...string) *devInstance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := append([]string{"dev", "--addr", "127.0.0.1:0", "--logto-addr", "127.0.0.1:0", "--permit-addr", "127.0.0.1:0",
		// No seeded history unless a test asks for it (a later flag wins):
		// most tests count the people they create.
		"--metrics-addr", "127.0.0.1:0", "--data", dataDir, "--seed-history=false"}, extraArgs...)
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	d := &devInstance{}
	urls := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "App:"); ok {
				d.appURL = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "Logto:"); ok {
				d.logtoURL = strings.Fields(v)[0]
			}
			if v, ok := strings.CutPrefix(line, "Permit:"); ok {
				d.permitURL = strings.Fields(v)[0]
			}
			if v, ok := strings.CutPrefix(line, "Metrics:"); ok {
				d.metricsURL = strings.Fields(v)[0]
			}
			if strings.HasPrefix(line, "Press Ctrl+C") {
				close(urls)
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-urls:
	case err := <-done:
		t.Fatalf("dev exited before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not become ready")
	}
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev exited with %v", err)
		}
	}
	t.Cleanup(d.stop)
	return d
}

func TestDevServesHomeAndKeepsSecretsAcrossRestarts(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	// Every URL the banner prints answers (the stand-ins' roots say what
	// they are), and so does the favicon.
	for _, u := range []string{d.appURL + "/", d.logtoURL, d.permitURL, d.metricsURL, d.appURL + "/favicon.ico"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
		if strings.HasSuffix(u, "/favicon.ico") && resp.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("favicon: Content-Type %q", resp.Header.Get("Content-Type"))
		}
	}
	first, err := os.ReadFile(dataDir + "/dev-secrets.json")
	if err != nil {
		t.Fatal(err)
	}
	d.stop()
	startDev(t, dataDir).stop()
	second, _ := os.ReadFile(dataDir + "/dev-secrets.json")
	if string(first) != string(second) {
		t.Error("dev regenerated its secrets on restart")
	}
}
