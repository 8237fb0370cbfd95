package permit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// apiError is an API failure in Permit's shape: either the
// standard body {"id","title","support_link","error_code","message"} or,
// when Detail is set, FastAPI's 422 {"detail":[{"loc","msg","type"}]}.
type apiError struct {
	Status  int
	Code    string // NOT_FOUND, DUPLICATE_ENTITY, ...
	Title   string
	Message string
	Detail  []fieldError
}

type fieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

func (e *apiError) Error() string {
	if len(e.Detail) > 0 {
		return fmt.Sprintf("%d: %s %v", e.Status, e.Detail[0].Msg, e.Detail[0].Loc)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func notFound(kind, ref string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Title: "The requested data could not be found",
		Message: fmt.Sprintf("Could not find '%s' with the given key or id: '%s'", kind, ref)}
}

func conflict(kind, key string) *apiError {
	return &apiError{Status: http.StatusConflict, Code: "DUPLICATE_ENTITY", Title: "Duplicate entity",
		Message: fmt.Sprintf("A %s with the key '%s' already exists", kind, key)}
}

func badRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "INVALID_INPUT", Title: "Invalid input", Message: msg}
}

// invalid is a FastAPI-style 422 for one field.
func invalid(msg, typ string, loc ...any) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Detail: []fieldError{{Loc: loc, Msg: msg, Type: typ}}}
}

func missing(loc ...any) *apiError {
	return invalid("field required", "value_error.missing", loc...)
}

func authError(status int) *apiError {
	if status == http.StatusUnauthorized {
		return &apiError{Status: status, Code: "UNAUTHORIZED", Title: "Unauthorized",
			Message: "Missing or invalid Authorization header"}
	}
	return &apiError{Status: status, Code: "FORBIDDEN_ACCESS", Title: "Forbidden",
		Message: "The API key is not valid for this environment"}
}

// writeError renders any handler error; anything that is not an apiError
// is a 500, logged by the caller and never leaked in detail.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Status: http.StatusInternalServerError, Code: "UNEXPECTED_ERROR",
			Title: "Internal Server Error", Message: "An unexpected error occurred"}
	}
	if len(ae.Detail) > 0 {
		writeJSON(w, ae.Status, map[string]any{"detail": ae.Detail})
		return
	}
	writeJSON(w, ae.Status, map[string]any{
		"id":              newID(),
		"title":           ae.Title,
		"support_link":    "https://docs.permit.io/errors/" + ae.Code,
		"error_code":      ae.Code,
		"message":         ae.Message,
		"additional_info": nil,
	})
}

// writeJSON answers with application/json: the SDK refuses any other
// content type on a non-empty 2xx body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v. Like Permit's pydantic
// models it rejects unknown fields and wrong types with a 422.
func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return missing("body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntaxErr):
		return invalid("Expecting value", "value_error.jsondecode", "body", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		loc := []any{"body"}
		if typeErr.Field != "" {
			for _, f := range strings.Split(typeErr.Field, ".") {
				loc = append(loc, f)
			}
		}
		return invalid("value is not a valid "+typeErr.Value, "type_error", loc...)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("extra fields not permitted", "value_error.extra", "body", field)
	default:
		return invalid("Expecting value", "value_error.jsondecode", "body")
	}
}

// page reads page/per_page as Permit does: page ≥ 1 (default 1),
// 1 ≤ per_page ≤ 100 (default 30); anything else is a query 422.
func page(r *http.Request) (page, perPage int, err error) {
	page, perPage = 1, 30
	for name, dst := range map[string]*int{"page": &page, "per_page": &perPage} {
		raw := r.URL.Query().Get(name)
		if raw == "" {
			continue
		}
		n, convErr := strconv.Atoi(raw)
		switch {
		case convErr != nil:
			return 0, 0, invalid("value is not a valid integer", "type_error.integer", "query", name)
		case n < 1:
			return 0, 0, invalid("ensure this value is greater than or equal to 1", "value_error.number.not_ge", "query", name)
		case name == "per_page" && n > 100:
			return 0, 0, invalid("ensure this value is less than or equal to 100", "value_error.number.not_le", "query", name)
		}
		*dst = n
	}
	return page, perPage, nil
}

// listShape is how a list endpoint answers: most schema and facts lists
// are a bare array, users and tenant users the paginated object, and the
// SDK decodes only the shape it expects.
type listShape bool

const (
	bareArray listShape = false
	paginated listShape = true
)

// writePage answers with one page of items in the given shape.
func writePage[T any](w http.ResponseWriter, items []T, page, perPage int, shape listShape) {
	start := min((page-1)*perPage, len(items))
	data := items[start:min(start+perPage, len(items))]
	if data == nil {
		data = []T{}
	}
	if shape == bareArray {
		writeJSON(w, http.StatusOK, data)
		return
	}
	pages := (len(items) + perPage - 1) / perPage
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(items), "page_count": pages})
}

// kind is how the generic handlers below reach one entity type.
type kind[T entity] struct {
	name string
	all  func(*state) map[string]T
	find func(*state, string) T // by key or id; nil when there is none
	// edit returns the record a change is made on: a copy for users and
	// tenants, which put then stores; the record itself for resources and
	// roles, once the write has saved the schema.
	edit func(*tx, T) T
	put  func(*tx, T)
	// remove deletes the entity and whatever refers to it.
	remove func(*tx, T)
}

func users() kind[*userRec] {
	return kind[*userRec]{name: "user", all: usersOf, find: (*state).user,
		edit: func(_ *tx, u *userRec) *userRec { c := *u; return &c }, put: (*tx).putUser, remove: (*tx).dropUser}
}

func tenants() kind[*tenantRec] {
	return kind[*tenantRec]{name: "tenant", all: tenantsOf, find: (*state).tenant,
		edit: func(_ *tx, t *tenantRec) *tenantRec { c := *t; return &c }, put: (*tx).putTenant, remove: (*tx).dropTenant}
}

// inSchema is edit for resources and roles.
func inSchema[T entity](t *tx, e T) T {
	t.touchSchema()
	return e
}

func resources() kind[*resourceRec] {
	return kind[*resourceRec]{name: "resource", all: resourcesOf, find: (*state).resource,
		edit: inSchema[*resourceRec], put: func(*tx, *resourceRec) {},
		remove: func(t *tx, res *resourceRec) {
			t.touchSchema()
			delete(t.Resources, res.Key)
			for a := range res.Actions {
				t.dropPermission(res.Key + ":" + a)
			}
		}}
}

func roles() kind[*roleRec] {
	return kind[*roleRec]{name: "role", all: rolesOf, find: (*state).role,
		edit: inSchema[*roleRec], put: func(*tx, *roleRec) {},
		remove: func(t *tx, role *roleRec) {
			t.touchSchema()
			delete(t.Roles, role.Key)
			// Scans every assignment: deleting a role is rare.
			t.unassignWhere(func(a *assignmentRec) bool { return a.Role == role.Key })
			for _, other := range t.Roles {
				other.Extends = slices.DeleteFunc(other.Extends, func(k string) bool { return k == role.Key })
			}
		}}
}

// found reports whether a find returned an entity.
func found[T entity](e T) bool { return any(e) != any(*new(T)) }

// serveList answers a list route: the entities k holds that keep accepts,
// in creation order, one page of them rendered by view. Filtering comes
// first so only the matches are sorted.
func serveList[T entity, V any](s *Server, w http.ResponseWriter, r *http.Request, shape listShape,
	k kind[T], keep func(*state, T) bool, view func(*state, T) V) error {
	pg, per, err := page(r)
	if err != nil {
		return err
	}
	var views []V
	_ = s.read(func(st *state) error {
		var matches []T
		for _, e := range k.all(st) {
			if keep(st, e) {
				matches = append(matches, e)
			}
		}
		for _, e := range sortByCreation(matches) {
			views = append(views, view(st, e))
		}
		return nil
	})
	writePage(w, views, pg, per, shape)
	return nil
}

// serveGet answers GET of one entity by key or id, 404 if there is none.
func serveGet[T entity, V any](s *Server, w http.ResponseWriter, k kind[T], ref string, view func(*state, T) V) error {
	return s.read(func(st *state) error {
		e := k.find(st, ref)
		if !found(e) {
			return notFound(k.name, ref)
		}
		writeJSON(w, http.StatusOK, view(st, e))
		return nil
	})
}

// serveChange runs fn on the existing entity ref names, by key or id,
// inside a write, stamps its UpdatedAt and answers with its view; 404 if
// there is none.
func serveChange[T entity, V any](s *Server, w http.ResponseWriter, k kind[T], ref string,
	view func(*state, T) V, fn func(*tx, T) error) error {
	return respond(s, w, http.StatusOK, func(t *tx) (V, error) {
		var none V
		e := k.find(t.state, ref)
		if !found(e) {
			return none, notFound(k.name, ref)
		}
		e = k.edit(t, e)
		if err := fn(t, e); err != nil {
			return none, err
		}
		e.base().UpdatedAt = t.now
		k.put(t, e)
		return view(t.state, e), nil
	})
}

// serveDelete removes the entity ref names, by key or id, with what
// refers to it; 404 if there is none, else 204.
func serveDelete[T entity](s *Server, w http.ResponseWriter, k kind[T], ref string) error {
	return s.respondNoContent(w, func(t *tx) error {
		e := k.find(t.state, ref)
		if !found(e) {
			return notFound(k.name, ref)
		}
		k.remove(t, e)
		return nil
	})
}

// The entity maps.
func usersOf(st *state) map[string]*userRec         { return st.Users }
func tenantsOf(st *state) map[string]*tenantRec     { return st.Tenants }
func resourcesOf(st *state) map[string]*resourceRec { return st.Resources }
func rolesOf(st *state) map[string]*roleRec         { return st.Roles }

// rejectKey refuses a key in an update body: Permit never changes a key.
func rejectKey(key *string) error {
	if key != nil {
		return invalid("extra fields not permitted", "value_error.extra", "body", "key")
	}
	return nil
}

// notSlug is the 422 for a key that is not a URL-friendly slug.
func notSlug(loc ...any) *apiError {
	return invalid(`string does not match regex "^[A-Za-z0-9\-_]+$"`, "value_error.str.regex", loc...)
}

// createBody is a create request whose key and name are required.
type createBody interface{ keyAndName() (key, name *string) }

// readCreate decodes a tenant, resource or role create body and checks its
// key (a slug) and name.
func readCreate[B createBody](r *http.Request) (B, error) {
	var body B
	if err := decodeBody(r, &body); err != nil {
		return body, err
	}
	return body, checkCreate(body)
}

// checkCreate checks a create body's key (a slug) and name.
func checkCreate(body createBody) error {
	key, name := body.keyAndName()
	if err := requireKey(key, "key"); err != nil {
		return err
	}
	if name == nil {
		return missing("body", "name")
	}
	return nil
}

// requireKey checks a create body's key: present and a URL-friendly slug.
func requireKey(key *string, field string) error {
	if key == nil {
		return missing("body", field)
	}
	if !slugPattern.MatchString(*key) {
		return notSlug("body", field)
	}
	return nil
}
