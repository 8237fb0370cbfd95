// Package logtoapi reads users from Logto's Management API
// (GET /api/users/{id}). provision uses it to fill in what a webhook did
// not carry: a PostRegister whose `user` lookup failed, or a
// User.Data.Updated whose `data` is only customData or profile.
//
// Access is a machine-to-machine client-credentials token
// (golang.org/x/oauth2/clientcredentials) for the Management API resource
// with scope `all`, cached until shortly before it expires and fetched
// again after a 401 (a rotated secret or a restarted tenant invalidates it
// early).
package logtoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"reportgate/internal/config"
	"reportgate/internal/fault"
	"reportgate/internal/webhook"
)

// tokenMargin is how long before expiry a cached token is replaced, so a
// token never expires between our check and Logto's.
const tokenMargin = time.Minute

// ErrNotFound means Logto has no user with that id (404
// entity.not_exists_with_id).
var ErrNotFound = fmt.Errorf("logto user %w", fault.NotFound)

// Config configures a Client.
type Config struct {
	// Endpoint is the tenant's base URL, e.g. https://auth.example.com. On
	// Logto Cloud it must be https://<tenant>.logto.app, not a custom domain.
	Endpoint string
	// AppID and AppSecret are the M2M application's credentials.
	AppID, AppSecret string
	// Resource is the API indicator; "" → config.DefaultManagementResource,
	// that of an OSS or self-hosted tenant (the same URL on any domain).
	Resource string
	// Timeout bounds each call whose context has no earlier deadline; 0 →
	// the REPORTGATE_LOGTO_TIMEOUT default.
	Timeout time.Duration
	// HTTPClient supplies the transport; nil → http.DefaultClient.
	HTTPClient *http.Client
}

// Client calls the Management API. It is safe for concurrent use.
type Client struct {
	endpoint string
	timeout  time.Duration
	http     *http.Client
	tokens   *tokens
}

// New validates cfg and returns a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" || cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("logtoapi: Endpoint, AppID and AppSecret are required")
	}
	c := &Client{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		timeout:  cfg.Timeout,
		http:     cfg.HTTPClient,
	}
	resource := cfg.Resource
	if resource == "" {
		resource = config.DefaultManagementResource
	}
	if c.timeout <= 0 {
		c.timeout = config.DefaultLogtoTimeout
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	cc := &clientcredentials.Config{
		ClientID:     cfg.AppID,
		ClientSecret: cfg.AppSecret,
		TokenURL:     c.endpoint + "/oidc/token",
		// Logto issues a Management API token only for the resource
		// indicator, and scope `all` is the one the API accepts.
		EndpointParams: url.Values{"resource": {resource}},
		Scopes:         []string{"all"},
		// Logto takes client_secret_basic; oauth2 form-escapes both parts.
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	// A token source keeps the context it was made with for every fetch,
	// so the caller's deadline cannot reach it: the client's timeout bounds
	// each token request instead.
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{
		Transport: c.http.Transport,
		Timeout:   c.timeout,
	})
	c.tokens = &tokens{fresh: func() oauth2.TokenSource {
		return oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(tokenCtx), tokenMargin)
	}}
	c.tokens.src = c.tokens.fresh()
	return c, nil
}

// wireUser is the part of Logto's user object we read. Nulls leave
// the strings empty; timestamps are epoch milliseconds.
type wireUser struct {
	ID           string `json:"id"`
	Username     string `json:"username"`
	PrimaryEmail string `json:"primaryEmail"`
	Name         string `json:"name"`
	CreatedAt    int64  `json:"createdAt"`
	IsSuspended  bool   `json:"isSuspended"`
}

func (w wireUser) user() webhook.User {
	u := webhook.User{ID: w.ID, Username: w.Username, Email: w.PrimaryEmail, Name: w.Name, IsSuspended: w.IsSuspended}
	if w.CreatedAt != 0 {
		u.CreatedAt = time.UnixMilli(w.CreatedAt).UTC()
	}
	return u
}

// GetUser is GET /api/users/{id}. A missing user is ErrNotFound.
func (c *Client) GetUser(ctx context.Context, id string) (webhook.User, error) {
	var w wireUser
	status, _, err := c.get(ctx, "/api/users/"+url.PathEscape(id), &w)
	if status == http.StatusNotFound {
		return webhook.User{}, fmt.Errorf("get logto user %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return webhook.User{}, fmt.Errorf("get logto user %s: %w", id, err)
	}
	if w.ID == "" {
		return webhook.User{}, fmt.Errorf("get logto user %s: reply has no id", id)
	}
	return w.user(), nil
}

// ListUsers is GET /api/users?page=&page_size= (1-based page, at most 100
// per page); total comes from the Total-Number header.
func (c *Client) ListUsers(ctx context.Context, page, pageSize int) ([]webhook.User, int, error) {
	if page < 1 || pageSize < 1 || pageSize > 100 {
		return nil, 0, fmt.Errorf("list logto users: page %d, size %d out of range", page, pageSize)
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "page_size": {strconv.Itoa(pageSize)}}
	var ws []wireUser
	_, h, err := c.get(ctx, "/api/users?"+q.Encode(), &ws)
	if err != nil {
		return nil, 0, fmt.Errorf("list logto users: %w", err)
	}
	total, err := strconv.Atoi(h.Get("Total-Number"))
	if err != nil {
		return nil, 0, fmt.Errorf("list logto users: Total-Number header: %w", err)
	}
	users := make([]webhook.User, 0, len(ws))
	for _, w := range ws {
		users = append(users, w.user())
	}
	return users, total, nil
}

// get sends an authorized GET and decodes a 200 into out, fetching a new
// token once if the cached one is refused. No answer, and a 429 or 5xx answer,
// are fault.Unavailable.
func (c *Client) get(ctx context.Context, path string, out any) (int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		token, gen, err := c.tokens.token()
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %w", fault.Unavailable, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+path, nil)
		if err != nil {
			return 0, nil, err
		}
		token.SetAuthHeader(req)
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %w", fault.Unavailable, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%w: %w", fault.Unavailable, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.tokens.refused(gen)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, snippet(body))
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
				err = fmt.Errorf("%w: %w", fault.Unavailable, err)
			}
			return resp.StatusCode, resp.Header, err
		}
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("decode reply: %w", err)
		}
		return resp.StatusCode, resp.Header, nil
	}
}

// tokens hands out the Management API token from a clientcredentials
// source, and starts a fresh source when the API refuses the token it gave.
// oauth2 caches a token until it expires, but a rotated secret or a
// restarted tenant invalidates it early and only a 401 tells.
type tokens struct {
	fresh func() oauth2.TokenSource

	mu  sync.Mutex
	src oauth2.TokenSource
	gen uint64 // counts sources, so only the first of concurrent 401s replaces it
}

// token returns the current token and the generation of its source.
func (t *tokens) token() (*oauth2.Token, uint64, error) {
	t.mu.Lock()
	src, gen := t.src, t.gen
	t.mu.Unlock()
	// The source serialises its own fetches, so concurrent callers share one.
	tok, err := src.Token()
	if err != nil {
		return nil, gen, fmt.Errorf("logto token: %w", err)
	}
	return tok, gen, nil
}

// refused drops the source of generation gen, so the next call fetches a
// new token.
func (t *tokens) refused(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.src, t.gen = t.fresh(), gen+1
	}
}

func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
