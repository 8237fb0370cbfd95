package logto

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Management API's user routes, guarded by an M2M
// access token for https://default.logto.app/api with scope `all`. Each
// mutation fires its data hook with the Management API context (caller's
// userAgent and ip, path, method, status, params, matchedRoute, data).

// apiError is Logto's RequestError body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func apiFail(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiError{Code: code, Message: message})
}

func notFoundUser(w http.ResponseWriter, id string) {
	apiFail(w, http.StatusNotFound, "entity.not_exists_with_id", "The user with ID `"+id+"` does not exist.")
}

func (s *Server) managementRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/users", s.api(s.listUsers))
	mux.Handle("POST /api/users", s.api(s.createUser))
	mux.Handle("GET /api/users/{userId}", s.api(s.getUser))
	mux.Handle("PATCH /api/users/{userId}", s.api(s.updateUser))
	mux.Handle("DELETE /api/users/{userId}", s.api(s.deleteUser))
	mux.Handle("PATCH /api/users/{userId}/is-suspended", s.api(s.suspendUser))
	mux.Handle("PATCH /api/users/{userId}/password", s.api(s.setPassword))
	mux.Handle("GET /api/users/{userId}/custom-data", s.api(s.getUserPart("customData")))
	mux.Handle("PATCH /api/users/{userId}/custom-data", s.api(s.mergeUserPart("customData")))
	mux.Handle("PATCH /api/users/{userId}/profile", s.api(s.mergeUserPart("profile")))
	mux.Handle("/api/", s.api(func(w http.ResponseWriter, r *http.Request) {
		apiFail(w, http.StatusNotFound, "guard.not_found", "Not found.")
	}))
}

// api checks the Bearer JWT: signature, issuer, audience, expiry, scope.
func (s *Server) api(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if auth == "" {
			apiFail(w, http.StatusUnauthorized, "auth.authorization_header_missing", "Authorization header is missing.")
			return
		}
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			apiFail(w, http.StatusUnauthorized, "auth.authorization_token_type_not_supported", "Authorization type is not supported.")
			return
		}
		payload, err := s.verifiedToken(token)
		var c struct {
			Iss   string `json:"iss"`
			Aud   string `json:"aud"`
			Exp   int64  `json:"exp"`
			Scope string `json:"scope"`
		}
		if err != nil || json.Unmarshal(payload, &c) != nil || c.Iss != s.issuer ||
			c.Aud != managementResource || s.now().Unix() >= c.Exp {
			apiFail(w, http.StatusUnauthorized, "auth.unauthorized", "Unauthorized. Please check credentials and its scope.")
			return
		}
		if !slices.Contains(strings.Fields(c.Scope), "all") {
			apiFail(w, http.StatusForbidden, "auth.forbidden", "Forbidden. Please check your user roles and permissions.")
			return
		}
		next(w, r)
	})
}

// userRouteContext describes a request to /users/:userId[/sub].
func userRouteContext(method string, status int, userID, sub string) managementContext {
	mc := managementContext{method: method, status: status, path: "/users/" + userID,
		params: object{{"userId", userID}}, matchedRoute: "/users/:userId"}
	if sub != "" {
		mc.path += "/" + sub
		mc.matchedRoute += "/" + sub
	}
	return mc
}

func (s *Server) fireManagement(r *http.Request, event string, mc managementContext, data any) {
	mc.userAgent, mc.ip = r.UserAgent(), clientIP(r)
	s.hooks.dispatch(event, managementDataPayload(s.now(), event, mc, data))
}

// listUsers is GET /api/users, newest first, with Logto's pagination
// headers.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size, ok := pagination(q)
	if !ok {
		apiFail(w, http.StatusBadRequest, "guard.invalid_pagination", "The pagination value of the request is invalid.")
		return
	}
	search := strings.ToLower(strings.Trim(q.Get("search"), "%"))
	s.mu.Lock()
	var users []User
	for _, a := range s.st.accounts.m {
		u := a.public()
		if search == "" || strings.Contains(strings.ToLower(u.PrimaryEmail+"\x00"+u.Name+"\x00"+u.Username+"\x00"+u.ID), search) {
			users = append(users, u)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(users, func(a, b User) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	total := len(users)
	out := []userWithPassword{}
	for i := (page - 1) * size; i < total && i < page*size; i++ {
		out = append(out, users[i].wireWithPassword())
	}
	w.Header().Set("Total-Number", strconv.Itoa(total))
	w.Header().Set("Link", s.paginationLinks(r, page, size, total))
	writeJSON(w, http.StatusOK, out)
}

// pagination reads page (default 1) and page_size (default 20, max 100).
func pagination(q url.Values) (page, size int, ok bool) {
	page, size = 1, 20
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, false
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 100 {
			return 0, 0, false
		}
	}
	return page, size, true
}

// paginationLinks builds the Link header as Logto's koa-pagination does:
// first, prev (if any), next (if any), last.
func (s *Server) paginationLinks(r *http.Request, page, size, total int) string {
	last := max((total+size-1)/size, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("page_size", strconv.Itoa(size))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.cfg.Endpoint, r.URL.Path, q.Encode(), rel)
	}
	links := []string{link(1, "first")}
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"))
	}
	return strings.Join(append(links, link(last, "last")), ", ")
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.lookupUser(r.PathValue("userId"))
	if !ok {
		notFoundUser(w, r.PathValue("userId"))
		return
	}
	writeJSON(w, http.StatusOK, u.wireWithPassword())
}

// userFields is the body of POST /users and PATCH /users/:userId. Raw
// values tell "absent" from null (which clears a field).
type userFields map[string]json.RawMessage

// str returns the string for key: set=false when absent; null → "".
func (f userFields) str(key string) (value string, set bool, err error) {
	raw, ok := f[key]
	if !ok {
		return "", false, nil
	}
	if string(raw) == "null" {
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, fmt.Errorf("%s must be a string", key)
	}
	return value, true, nil
}

func decodeFields(w http.ResponseWriter, r *http.Request) (userFields, bool) {
	var f userFields
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&f); err != nil {
		badInput(w)
		return nil, false
	}
	return f, true
}

// badInput is the guard's plain 400, without a reason.
func badInput(w http.ResponseWriter) {
	apiFail(w, http.StatusBadRequest, "guard.invalid_input", "The request input is invalid.")
}

func invalidInput(w http.ResponseWriter, err error) {
	apiFail(w, http.StatusBadRequest, "guard.invalid_input", "The request input is invalid. "+err.Error())
}

// accountConflict maps uniqueness errors to Logto's 422s.
func accountConflict(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, errEmailInUse):
		apiFail(w, http.StatusUnprocessableEntity, "user.email_already_in_use", "This email is associated with an existing account.")
	case errors.Is(err, errUsernameInUse):
		apiFail(w, http.StatusUnprocessableEntity, "user.username_already_in_use", "Username is already in use.")
	case errors.Is(err, errInvalidEmail):
		invalidInput(w, err)
	default:
		return false
	}
	return true
}

// createUser is POST /api/users: only User.Created fires, never
// PostRegister; status 200, not 201.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	f, ok := decodeFields(w, r)
	if !ok {
		return
	}
	in := accountInput{parts: map[string]json.RawMessage{}}
	for key, dst := range map[string]*string{"primaryEmail": &in.email, "name": &in.name, "username": &in.username, "password": &in.password} {
		v, _, err := f.str(key)
		if err != nil {
			invalidInput(w, err)
			return
		}
		*dst = v
	}
	for _, key := range userPartKeys {
		if raw, ok := f[key]; ok {
			if _, err := decodeObject(raw); err != nil {
				invalidInput(w, fmt.Errorf("%s must be an object", key))
				return
			}
			in.parts[key] = raw
		}
	}
	u, err := s.createAccount(in)
	if err != nil {
		if !accountConflict(w, err) {
			s.log.Error("create user", "err", err)
			apiFail(w, http.StatusInternalServerError, "unknown", "Unknown error occurred.")
		}
		return
	}
	body := u.wireWithPassword()
	s.fireManagement(r, "User.Created", managementContext{path: "/users", method: http.MethodPost, status: http.StatusOK,
		params: object{}, matchedRoute: "/users"}, body)
	writeJSON(w, http.StatusOK, body)
}

// applyFields updates a user's optional object fields and, when edit is
// given, its strings. It returns the updated user.
func (s *Server) applyFields(id string, f userFields, edit func(a *account) error) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts.m[id]
	if !ok {
		return User{}, errNotFound
	}
	next := *a
	if edit != nil {
		if err := edit(&next); err != nil {
			return User{}, err
		}
	}
	for _, key := range userPartKeys {
		if raw, ok := f[key]; ok {
			if _, err := decodeObject(raw); err != nil {
				return User{}, fmt.Errorf("%s: %w", key, errInvalidInput)
			}
			*next.part(key) = raw
		}
	}
	next.UpdatedAt = s.now().Truncate(time.Millisecond)
	// Replaced, not changed in place: a compaction may be writing the old one.
	s.st.indexAccount(a, false)
	s.st.accounts.set(id, &next)
	s.st.indexAccount(&next, true)
	s.persist()
	return next.public(), nil
}

var (
	errNotFound     = errors.New("not found")
	errInvalidInput = errors.New("invalid input")
)

// updateUser is PATCH /api/users/:userId.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("userId")
	f, ok := decodeFields(w, r)
	if !ok {
		return
	}
	u, err := s.applyFields(id, f, func(a *account) error {
		for key, dst := range map[string]*string{"primaryEmail": &a.PrimaryEmail, "name": &a.Name,
			"username": &a.Username, "avatar": &a.Avatar, "primaryPhone": &a.PrimaryPhone} {
			v, set, err := f.str(key)
			if err != nil {
				return fmt.Errorf("%w: %w", errInvalidInput, err)
			}
			if set {
				*dst = strings.TrimSpace(v)
			}
		}
		if a.PrimaryEmail != "" && !validEmail(a.PrimaryEmail) {
			return errInvalidEmail
		}
		return s.checkUniqueLocked(a.PrimaryEmail, a.Username, a.ID)
	})
	s.respondUserPatch(w, r, "User.Data.Updated", "", u, err)
}

// respondUserPatch answers a PATCH on /users/:userId[/sub] with the user
// (+hasPassword) and fires event with the same body as data.
func (s *Server) respondUserPatch(w http.ResponseWriter, r *http.Request, event, sub string, u User, err error) {
	id := r.PathValue("userId")
	if !s.userWriteOK(w, id, err) {
		return
	}
	body := u.wireWithPassword()
	s.fireManagement(r, event, userRouteContext(http.MethodPatch, http.StatusOK, id, sub), body)
	writeJSON(w, http.StatusOK, body)
}

// userWriteOK answers a failed user update and reports whether it succeeded.
func (s *Server) userWriteOK(w http.ResponseWriter, id string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errNotFound):
		notFoundUser(w, id)
	case errors.Is(err, errInvalidInput):
		invalidInput(w, err)
	case !accountConflict(w, err):
		s.log.Error("update user", "id", id, "err", err)
		apiFail(w, http.StatusInternalServerError, "unknown", "Unknown error occurred.")
	}
	return false
}

// deleteUser is DELETE /api/users/:userId: 204, the user signed out
// everywhere, and User.Deleted carrying the deleted user (since Logto 1.18.0).
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("userId")
	s.mu.Lock()
	a, ok := s.st.accounts.m[id]
	if ok {
		s.st.accounts.del(id)
		s.st.indexAccount(a, false)
		s.st.revokeUser(id)
		s.persist()
	}
	s.mu.Unlock()
	if !ok {
		notFoundUser(w, id)
		return
	}
	s.fireManagement(r, "User.Deleted", userRouteContext(http.MethodDelete, http.StatusNoContent, id, ""), a.public().wire())
	w.WriteHeader(http.StatusNoContent)
}

// suspendUser is PATCH /api/users/:userId/is-suspended; suspending signs
// the user out everywhere, as Logto does.
func (s *Server) suspendUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("userId")
	var body struct {
		IsSuspended *bool `json:"isSuspended"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || body.IsSuspended == nil {
		badInput(w)
		return
	}
	u, err := s.applyFields(id, nil, func(a *account) error {
		a.IsSuspended = *body.IsSuspended
		if a.IsSuspended {
			s.st.revokeUser(id)
		}
		return nil
	})
	s.respondUserPatch(w, r, "User.SuspensionStatus.Updated", "is-suspended", u, err)
}

// setPassword is PATCH /api/users/:userId/password.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("userId")
	f, ok := decodeFields(w, r)
	if !ok {
		return
	}
	password, _, err := f.str("password")
	if err != nil || password == "" {
		badInput(w)
		return
	}
	hash, err := hashPassword(password, s.cfg.PasswordIterations)
	var u User
	if err == nil {
		u, err = s.applyFields(id, nil, func(a *account) error { a.PasswordHash = hash; return nil })
	}
	s.respondUserPatch(w, r, "User.Data.Updated", "password", u, err)
}

// userPartKeys are the user's free-form JSON objects, as the API names
// them; each also has its own sub-route (userPartRoute).
var userPartKeys = []string{"customData", "profile"}

// userPartRoute is the /users/:userId sub-route of a user part.
func userPartRoute(key string) string {
	if key == "customData" {
		return "custom-data"
	}
	return key
}

// part points at the user's customData or profile.
func (u *User) part(key string) *json.RawMessage {
	if key == "profile" {
		return &u.Profile
	}
	return &u.CustomData
}

// partJSON returns the user's customData or profile, {} when unset.
func (u User) partJSON(key string) json.RawMessage { return emptyObject(*u.part(key)) }

func (s *Server) getUserPart(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.lookupUser(r.PathValue("userId"))
		if !ok {
			notFoundUser(w, r.PathValue("userId"))
			return
		}
		writeJSON(w, http.StatusOK, u.partJSON(key))
	}
}

// mergeUserPart is PATCH /api/users/:userId/custom-data and /profile: a
// shallow merge whose User.Data.Updated carries ONLY the merged object,
// not a user.
func (s *Server) mergeUserPart(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("userId")
		f, ok := decodeFields(w, r)
		if !ok {
			return
		}
		patch, err := decodeObject(f[key])
		if err != nil {
			invalidInput(w, fmt.Errorf("%s must be an object", key))
			return
		}
		u, err := s.applyFields(id, nil, func(a *account) error {
			merged, err := decodeObject(a.partJSON(key))
			if err != nil {
				return err
			}
			for _, m := range patch {
				merged = merged.set(m.key, m.value)
			}
			raw, err := marshalJS(merged)
			if err != nil {
				return err
			}
			*a.part(key) = raw
			return nil
		})
		if !s.userWriteOK(w, id, err) {
			return
		}
		data := u.partJSON(key)
		s.fireManagement(r, "User.Data.Updated", userRouteContext(http.MethodPatch, http.StatusOK, id, userPartRoute(key)), data)
		writeJSON(w, http.StatusOK, data)
	}
}
