package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func mustDefault(t *testing.T) Policy {
	t.Helper()
	p, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return p
}

func TestDefaultGrants(t *testing.T) {
	t.Parallel()
	p := mustDefault(t)
	tests := []struct {
		role string
		want []string
	}{
		{"viewer", []string{"reports:view"}},
		{"analyst", []string{"reports:export", "reports:view"}},
		// Permit has no wildcard: admin must list every permission the policy declares.
		{"admin", []string{"audit:view", "reports:export", "reports:view", "sync:manage", "users:manage"}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		if got := p.Permissions(tt.role); !slices.Equal(got, tt.want) {
			t.Errorf("Permissions(%q) = %v, want %v", tt.role, got, tt.want)
		}
	}

	var all []string
	for _, r := range p.Resources {
		for _, a := range r.Actions {
			all = append(all, r.Key+":"+a)
		}
	}
	slices.Sort(all)
	if got := p.Permissions("admin"); !slices.Equal(got, all) {
		t.Errorf("admin = %v, want every declared permission %v", got, all)
	}
}

func TestPermissionsFollowExtends(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(`{
		"resources": [{"key": "doc", "name": "Doc", "actions": ["read", "write", "share"]}],
		"roles": [
			{"key": "reader", "name": "Reader", "permissions": ["doc:read"]},
			{"key": "writer", "name": "Writer", "permissions": ["doc:write", "doc:read"], "extends": ["reader"]},
			{"key": "owner", "name": "Owner", "permissions": ["doc:share"], "extends": ["writer"]},
			{"key": "empty", "name": "Empty"}
		]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Permissions("owner"), []string{"doc:read", "doc:share", "doc:write"}; !slices.Equal(got, want) {
		t.Errorf("owner = %v, want %v", got, want)
	}
	if got := p.Permissions("empty"); len(got) != 0 {
		t.Errorf("empty = %v, want none", got)
	}
}

func TestPermissionsToleratesCycles(t *testing.T) {
	t.Parallel()
	// Policies read back from Permit are not validated; a cycle must not hang.
	p := Policy{Roles: []Role{
		{Key: "a", Permissions: []string{"x:1"}, Extends: []string{"b"}},
		{Key: "b", Permissions: []string{"x:2"}, Extends: []string{"a"}},
	}}
	if got, want := p.Permissions("a"), []string{"x:1", "x:2"}; !slices.Equal(got, want) {
		t.Errorf("a = %v, want %v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	const res = `"resources": [{"key": "doc", "name": "Doc", "actions": ["read"]}]`
	tests := []struct {
		name, body, wantErr string
	}{
		{"unknown field", `{` + res + `, "roles": [], "extra": 1}`, "unknown field"},
		{"unknown role field", `{` + res + `, "roles": [{"key": "r", "name": "R", "perms": []}]}`, "unknown field"},
		{"trailing data", `{` + res + `, "roles": []} {}`, "after the policy"},
		{"not json", `resources: []`, "decode policy"},
		{"bad resource key", `{"resources": [{"key": "a b", "name": "A", "actions": ["x"]}], "roles": []}`, "key must match"},
		{"bad action key", `{"resources": [{"key": "a", "name": "A", "actions": ["x/y"]}], "roles": []}`, "must match"},
		{"no actions", `{"resources": [{"key": "a", "name": "A", "actions": []}], "roles": []}`, "at least one action"},
		{"duplicate action", `{"resources": [{"key": "a", "name": "A", "actions": ["x", "x"]}], "roles": []}`, "duplicate action"},
		{"duplicate resource", `{"resources": [{"key": "a", "name": "A", "actions": ["x"]}, {"key": "a", "name": "A", "actions": ["y"]}], "roles": []}`, "duplicate resource"},
		{"missing name", `{"resources": [{"key": "a", "actions": ["x"]}], "roles": []}`, "name is required"},
		{"undeclared resource", `{` + res + `, "roles": [{"key": "r", "name": "R", "permissions": ["file:read"]}]}`, `"file:read" is not a declared`},
		{"undeclared action", `{` + res + `, "roles": [{"key": "r", "name": "R", "permissions": ["doc:write"]}]}`, `"doc:write" is not a declared`},
		{"wildcard", `{` + res + `, "roles": [{"key": "r", "name": "R", "permissions": ["doc:*"]}]}`, "not a declared"},
		{"duplicate permission", `{` + res + `, "roles": [{"key": "r", "name": "R", "permissions": ["doc:read", "doc:read"]}]}`, "duplicate permission"},
		{"duplicate role", `{` + res + `, "roles": [{"key": "r", "name": "R"}, {"key": "r", "name": "R"}]}`, "duplicate role"},
		{"bad role key", `{` + res + `, "roles": [{"key": "r:1", "name": "R"}]}`, "key must match"},
		{"extends unknown", `{` + res + `, "roles": [{"key": "r", "name": "R", "extends": ["ghost"]}]}`, `undeclared role "ghost"`},
		{"self cycle", `{` + res + `, "roles": [{"key": "r", "name": "R", "extends": ["r"]}]}`, "cycle r -> r"},
		{"long cycle", `{` + res + `, "roles": [
			{"key": "a", "name": "A", "extends": ["b"]},
			{"key": "b", "name": "B", "extends": ["c"]},
			{"key": "c", "name": "C", "extends": ["a"]}]}`, "cycle a -> b -> c -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse accepted %s", tt.body)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"resources": [{"key": "a b", "name": "", "actions": ["x"]}], "roles": [{"key": "r", "name": "R", "extends": ["ghost"]}]}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"key must match", "name is required", "ghost"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(defaultPolicy))
	f.Add([]byte(`{"resources":[],"roles":[{"key":"a","name":"A","extends":["a"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever Parse accepts must survive a round trip and expand safely.
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of accepted policy failed: %v", err)
		}
		for _, r := range p.Roles {
			_ = p.Permissions(r.Key)
		}
	})
}
