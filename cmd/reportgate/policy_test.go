package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"reportgate/internal/devstack/permit"
)

const policyTestKey = "permit_key_policy_cmd"

// startPolicyStandin serves an empty Permit stand-in and counts the schema
// writes it receives.
func startPolicyStandin(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	s, err := permit.New(permit.Config{APIKey: policyTestKey})
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/schema/") {
			writes.Add(1)
		}
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &writes
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPolicyApplyDryRun(t *testing.T) {
	url, writes := startPolicyStandin(t)
	for name, env := range map[string]map[string]string{
		// The trailing slash would break every SDK call; it is trimmed.
		"scope call": {"PERMIT_API_KEY": policyTestKey, "PERMIT_API_URL": url + "/"},
		"project and environment given": {"PERMIT_API_KEY": policyTestKey, "PERMIT_API_URL": url,
			"PERMIT_PROJECT": permit.ProjectKey, "PERMIT_ENVIRONMENT": permit.EnvironmentKey},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := policyCmd(context.Background(), []string{"apply", "--dry-run"}, envFrom(env), &stdout, &stderr)
			if err != nil {
				t.Fatalf("policy apply --dry-run: %v (stderr %q)", err, stderr.String())
			}
			want := []string{
				"create-resource reports: actions export, view",
				"create-resource sync: actions manage",
				"create-resource users: actions manage",
				"create-resource audit: actions view",
				"create-role viewer: permissions reports:view",
				"create-role analyst: permissions reports:export, reports:view",
				"create-role admin: permissions audit:view, reports:export, reports:view, sync:manage, users:manage",
				"dry run: 7 changes planned, nothing written",
			}
			if got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"); !slices.Equal(got, want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), strings.Join(want, "\n"))
			}
		})
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("dry run made %d schema writes, want 0", n)
	}
}

func TestPolicyApplyThenNoChanges(t *testing.T) {
	url, _ := startPolicyStandin(t)
	env := envFrom(map[string]string{"PERMIT_API_KEY": policyTestKey, "PERMIT_API_URL": url})
	var out bytes.Buffer
	if err := policyCmd(context.Background(), []string{"apply"}, env, &out, &out); err != nil {
		t.Fatalf("policy apply: %v", err)
	}
	if !strings.HasSuffix(out.String(), "\n7 changes applied\n") {
		t.Errorf("first run printed:\n%s", out.String())
	}
	out.Reset()
	if err := policyCmd(context.Background(), []string{"apply", "--prune"}, env, &out, &out); err != nil {
		t.Fatalf("policy apply --prune: %v", err)
	}
	if out.String() != "no changes\n" {
		t.Errorf("second run printed %q, want %q", out.String(), "no changes\n")
	}
}

func TestPolicyApplyErrors(t *testing.T) {
	url, writes := startPolicyStandin(t)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"wrong key", []string{"apply"},
			map[string]string{"PERMIT_API_KEY": "permit_key_wrong", "PERMIT_API_URL": url}, []string{"PERMIT_API_KEY"}},
		{"wrong key, scoped", []string{"apply"},
			map[string]string{"PERMIT_API_KEY": "permit_key_wrong", "PERMIT_API_URL": url,
				"PERMIT_PROJECT": permit.ProjectKey, "PERMIT_ENVIRONMENT": permit.EnvironmentKey},
			[]string{"rejected", "HTTP 403", "PERMIT_API_KEY"}},
		{"every setting problem at once", []string{"apply"},
			map[string]string{"PERMIT_API_URL": url + "/v1", "PERMIT_PROJECT": "default"},
			[]string{"PERMIT_API_KEY is required", "without a path", "PERMIT_ENVIRONMENT"}},
		{"no subcommand", nil, nil, []string{"no subcommand"}},
		{"unknown flag", []string{"apply", "--force"}, nil, []string{"force"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := policyCmd(context.Background(), tc.args, envFrom(tc.env), &stdout, &stderr)
			if err == nil {
				t.Fatalf("succeeded; stdout %q", stdout.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("%d schema writes from failed runs", n)
	}
}
