package permit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Raw-HTTP checks of Permit's wire behaviour that the Go SDK does
// not exercise, or exercises without showing the shape.

func TestWireShapes(t *testing.T) {
	t.Parallel()
	s := start(t)
	base := s.URL + "/v2/facts/default/dev"

	r := do(t, "GET", s.URL+"/v2/api-key/scope", testKey, nil)
	var scope map[string]string
	r.decode(t, &scope)
	for _, k := range []string{"organization_id", "project_id", "environment_id"} {
		if !hex32.MatchString(scope[k]) {
			t.Errorf("scope %s = %q", k, scope[k])
		}
	}

	// PUT replace: 201 when created, 200 when replaced (Node/Python sync).
	r = do(t, "PUT", base+"/users/u1", testKey, map[string]any{"key": "u1", "email": "a@example.com", "first_name": "A"})
	if r.status != 201 {
		t.Fatalf("PUT new = %d %s", r.status, r.body)
	}
	r = do(t, "PUT", base+"/users/u1", testKey, map[string]any{"key": "u1"})
	var user map[string]any
	r.decode(t, &user)
	if r.status != 200 || user["email"] != nil || user["first_name"] != nil {
		t.Errorf("PUT existing = %d %s; want 200 with fields cleared", r.status, r.body)
	}
	for _, k := range []string{"key", "id", "organization_id", "project_id", "environment_id", "associated_tenants", "roles", "created_at", "updated_at", "attributes"} {
		if _, ok := user[k]; !ok {
			t.Errorf("UserRead lacks required %q: %s", k, r.body)
		}
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
	for _, k := range []string{"created_at", "updated_at"} {
		ts, _ := user[k].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("%s = %q is not RFC 3339 with an offset", k, ts)
		}
	}

	// Node-shape assignment routes.
	r = do(t, "POST", base+"/role_assignments", testKey, map[string]any{"user": "u1", "role": "viewer", "tenant": "default"})
	if r.status != 200 {
		t.Fatalf("POST role_assignments = %d %s", r.status, r.body)
	}
	r = do(t, "GET", base+"/role_assignments?user=u1", testKey, nil)
	var list []map[string]any
	r.decode(t, &list) // a bare array
	if len(list) != 1 {
		t.Fatalf("role_assignments = %s", r.body)
	}
	for _, k := range []string{"id", "user", "role", "tenant", "user_id", "role_id", "tenant_id", "organization_id", "project_id", "environment_id", "created_at"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("assignment lacks %q", k)
		}
	}
	r = do(t, "GET", base+"/role_assignments?include_total_count=true", testKey, nil)
	var paged struct {
		Data       []json.RawMessage
		TotalCount int `json:"total_count"`
	}
	r.decode(t, &paged)
	if paged.TotalCount != 1 || len(paged.Data) != 1 {
		t.Errorf("include_total_count = %s", r.body)
	}
	if r = do(t, "DELETE", base+"/role_assignments", testKey, map[string]any{"user": "u1", "role": "viewer", "tenant": "default"}); r.status != 204 || len(r.body) != 0 {
		t.Errorf("DELETE role_assignments = %d %q", r.status, r.body)
	}

	// Users list is the paginated object; search filters.
	do(t, "POST", base+"/users", testKey, map[string]any{"key": "bob", "email": "bob@example.com"})
	r = do(t, "GET", base+"/users?search=BOB&page=1&per_page=10", testKey, nil)
	var users struct {
		Data       []map[string]any
		TotalCount int  `json:"total_count"`
		PageCount  *int `json:"page_count"`
	}
	r.decode(t, &users)
	if users.TotalCount != 1 || len(users.Data) != 1 || users.Data[0]["key"] != "bob" || users.PageCount == nil {
		t.Errorf("search = %s", r.body)
	}

	// Tenants list is a bare array.
	r = do(t, "GET", base+"/tenants", testKey, nil)
	var tenants []map[string]any
	r.decode(t, &tenants)
	if len(tenants) != 1 || tenants[0]["key"] != "default" {
		t.Errorf("tenants = %s", r.body)
	}
}

func TestWireErrors(t *testing.T) {
	t.Parallel()
	s := start(t)
	base := s.URL + "/v2/facts/default/dev"
	tests := []struct {
		name, method, url string
		body              any
		status            int
		code              string // error_code, or "" for a FastAPI 422
	}{
		{"unknown route", "GET", s.URL + "/v2/nope", nil, 404, "NOT_FOUND"},
		{"unknown user", "GET", base + "/users/ghost", nil, 404, "NOT_FOUND"},
		{"unknown project", "GET", s.URL + "/v2/facts/other/dev/users", nil, 404, "NOT_FOUND"},
		{"duplicate tenant", "POST", base + "/tenants", map[string]any{"key": "default", "name": "D"}, 409, "DUPLICATE_ENTITY"},
		{"missing key", "POST", base + "/users", map[string]any{"email": "x@example.com"}, 422, ""},
		{"unknown field", "POST", base + "/users", map[string]any{"key": "x", "nick": "y"}, 422, ""},
		{"wrong type", "POST", base + "/users", map[string]any{"key": 7}, 422, ""},
		{"not json", "POST", base + "/users", "{", 422, ""},
		{"bad tenant key", "POST", base + "/tenants", map[string]any{"key": "a b", "name": "A"}, 422, ""},
		{"per_page too big", "GET", base + "/users?per_page=101", nil, 422, ""},
		{"page zero", "GET", base + "/role_assignments?page=0", nil, 422, ""},
		{"assign unknown user", "POST", base + "/users/ghost/roles", map[string]any{"role": "viewer", "tenant": "default"}, 404, "NOT_FOUND"},
		{"bad attribute type", "POST", s.URL + "/v2/schema/default/dev/resources", map[string]any{"key": "x", "name": "X", "actions": map[string]any{}, "attributes": map[string]any{"a": map[string]any{"type": "float"}}}, 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, tt.url, testKey, tt.body)
			if r.status != tt.status || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("= %d %q %s, want %d", r.status, r.header.Get("Content-Type"), r.body, tt.status)
			}
			var body struct {
				ID        string `json:"id"`
				Title     string `json:"title"`
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
				Detail    []struct {
					Loc  []any  `json:"loc"`
					Msg  string `json:"msg"`
					Type string `json:"type"`
				} `json:"detail"`
			}
			r.decode(t, &body)
			if tt.code == "" {
				if len(body.Detail) == 0 || len(body.Detail[0].Loc) == 0 || body.Detail[0].Msg == "" || body.Detail[0].Type == "" {
					t.Errorf("422 body = %s", r.body)
				}
				return
			}
			if body.ErrorCode != tt.code || !hex32.MatchString(body.ID) || body.Title == "" || body.Message == "" {
				t.Errorf("error body = %s", r.body)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted an empty APIKey")
	}
	p := testSchema()
	p.Roles[0].Permissions = []string{"nope:nope"}
	if _, err := New(Config{APIKey: "k", Schema: p}); err == nil {
		t.Error("New accepted an invalid policy")
	}
	if _, err := New(Config{APIKey: "k", Schema: testSchema()}); err != nil {
		t.Fatalf("New refused the test schema: %v", err)
	}

	// What Permit refuses when the same schema is written call by call.
	for _, tt := range []struct {
		name   string
		mutate func(*Schema)
		want   string // in the error
	}{
		{"resource key not a slug", func(s *Schema) { s.Resources[0].Key = "re ports" }, `resource "re ports"`},
		{"resource without name", func(s *Schema) { s.Resources[1].Name = "" }, `resource "sync"`},
		{"action key not a slug", func(s *Schema) { s.Resources[0].Actions = append(s.Resources[0].Actions, "read/all") }, `resource "reports"`},
		{"duplicate resource", func(s *Schema) { s.Resources = append(s.Resources, s.Resources[0]) }, "DUPLICATE_ENTITY"},
		{"role key not a slug", func(s *Schema) { s.Roles[0].Key = "" }, `role ""`},
		{"duplicate role", func(s *Schema) { s.Roles = append(s.Roles, s.Roles[1]) }, "DUPLICATE_ENTITY"},
		{"undeclared action", func(s *Schema) { s.Roles[1].Permissions = []string{"reports:delete"} }, "reports:delete"},
		{"extends an unknown role", func(s *Schema) { s.Roles[3].Extends = []string{"boss"} }, "boss"},
		{"extends itself", func(s *Schema) { s.Roles[3].Extends = []string{"lead"} }, "cycle"},
		{"extends cycle", func(s *Schema) { s.Roles[1].Extends = []string{"lead"} }, "cycle"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := testSchema()
			tt.mutate(&sc)
			_, err := New(Config{APIKey: "k", Schema: sc})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s", err, tt.want)
			}
		})
	}
	// Two problems are both reported.
	sc := testSchema()
	sc.Resources[0].Key, sc.Roles[3].Extends = "re ports", []string{"boss"}
	if _, err := New(Config{APIKey: "k", Schema: sc}); err == nil ||
		!strings.Contains(err.Error(), "re ports") || !strings.Contains(err.Error(), "boss") {
		t.Errorf("New = %v, want both problems", err)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	s := start(t)
	check := map[string]any{"user": map[string]any{"key": "u"}, "action": "view", "resource": map[string]any{"type": "reports", "tenant": "default"}}
	do(t, "POST", s.URL+"/allowed", testKey, check)
	do(t, "POST", s.URL+"/allowed", testKey, check)
	do(t, "POST", s.URL+"/allowed/bulk", testKey, []any{check})
	do(t, "POST", s.URL+"/allowed/all-tenants", testKey, check)
	do(t, "POST", s.URL+"/user-permissions", testKey, map[string]any{"user": map[string]any{"key": "u"}})
	do(t, "GET", s.URL+"/v2/api-key/scope", testKey, nil)
	want := Counts{Allowed: 2, Bulk: 1, AllTenants: 1, UserPermissions: 1, API: 1}
	if got := s.Counts(); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
}
