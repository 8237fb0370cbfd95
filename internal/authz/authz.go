// Package authz answers "may this user do this action on this resource?" by
// asking the Permit.io PDP through the permit-golang v1.2.8 SDK. It is the
// only package that talks to the PDP.
//
// Three properties matter more than anything else here:
//
//   - It fails closed and says so. Any PDP trouble — unreachable, slower than
//     Config.Timeout, 5xx, 429, 400, a body that is not a decision — is
//     ErrUnavailable (wrapping the cause), never a deny. The SDK alone turns a
//     PDP 400 or 429 into (false, nil) (it decodes any status it does not
//     list as a decision); see pdpTransport for how that is prevented.
//   - Every PDP call is bounded. The SDK's Check takes no context, so each
//     call runs on an http.Client whose Timeout is Config.Timeout, and
//     each caller races its own ctx against the call: a
//     cancelled request returns at once while the shared PDP call finishes
//     (or times out) for the other callers waiting on it.
//   - It is cheap. Decisions are cached per (user, tenant, resource, action)
//     — allows for AllowTTL, denies for the shorter DenyTTL so a newly
//     granted role shows up quickly — and concurrent identical misses share
//     one PDP call. Forget drops a user's decisions after a role change.
//
// # AllowedAll: per-action /allowed, bulk from five misses
//
// A page needs a few decisions (the reports page: reports:view and
// reports:export). Measured against the local stand-in
// (internal/devstack/permit) with the real SDK over loopback on a 2-CPU
// development VM: a one-off timing of 2,000 pages per strategy (mean / p50),
// and BenchmarkPageDecisions (ns/op); "+5 ms" adds 5 ms to every request, a
// Cloud PDP round trip, 200 pages each:
//
//	2 decisions as …                requests   loopback mean/p50   bench    +5 ms mean   bench
//	one POST /allowed/bulk              1         129 / 93 µs       169 µs    6.2 ms      5.9 ms
//	two POST /allowed, one by one       2         221 / 133 µs      203 µs   13.2 ms     11.6 ms
//	two POST /allowed, concurrently     2         240 / 143 µs      243 µs    7.4 ms      6.0 ms
//	one POST /user-permissions          1         118 / 60 µs       138 µs    6.7 ms      5.8 ms
//	Checker.AllowedAll, cache off       2         311 / 181 µs      218 µs    6.4 ms      5.8 ms
//
// On loopback one request beats two by ~0.1 ms of CPU; over a real network
// bulk and concurrent /allowed both cost one round trip, and one-by-one costs
// two. With the cache warm a decision costs ~170–200 ns and no request
// (BenchmarkAllowed), so the cold path is rare.
//
// On time, bulk and concurrent /allowed are equal: both cost one round trip.
// What decides is the Cloud PDP's per-IP rate limit:
// 1,000 /allowed but only 200 /allowed/bulk requests a minute. One bulk
// request spends as much of the budget as five /allowed, so two decisions
// cost 2/1000 of a minute as /allowed and 5/1000 as bulk: /allowed serves
// 2.5× more pages before 429s (which this package reports as
// ErrUnavailable). Per-decision calls also share the cache and the request
// coalescing with Allowed, so a page whose reports:view is already cached
// costs one call, not a bulk one. AllowedAll therefore sends the missing
// decisions as concurrent /allowed calls, and switches to one /allowed/bulk
// request only when five or more are missing, where bulk is no worse on the
// budget and far fewer requests. (A container PDP has no such limit; there
// bulk would save ~0.1 ms per cold page, not worth a second policy.) All
// requests use one tenant, so the SDK's
// per-tenant split of BulkCheck (one HTTP call per distinct tenant) still
// sends one request.
//
// /user-permissions also answers in one request, but it was not chosen: its
// Cloud PDP limit is not documented, its semantics differ from /allowed for
// anything beyond tenant RBAC (PDP #341: it drops ReBAC-derived instances
// after a schema change until restart), and its reply grows with the user's
// permissions.
//
// # SDK use
//
// The SDK config comes from config.NewConfigBuilder with an explicit API and
// PDP URL (trailing slash stripped: the SDK would request //allowed),
// zap.NewNop as logger (the cause is wrapped into the returned error
// instead; the default production
// logger would log every expected failure at Error level), and no
// WithContext: this package makes no REST call, so the lazy
// /v2/api-key/scope call and its unlocked write to the config never happen.
// Checks go through the SDK's enforcer, the code permit.Client.Check and
// BulkCheck delegate to; an enforcer is built per PDP call (a struct, no
// I/O) so the call gets its own recorder that keeps the typed cause of a
// failure, which the SDK otherwise flattens into a string.
package authz

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/enforcement"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	appconfig "reportgate/internal/config"
	"reportgate/internal/fault"
)

// DefaultMaxEntries bounds the decision cache when Config.MaxEntries is 0.
const DefaultMaxEntries = 10_000

// bulkFrom is the number of missing decisions from which AllowedAll sends
// one /allowed/bulk instead of concurrent /allowed calls: one bulk request
// spends a fifth of a minute's Cloud PDP bulk budget as five /allowed do of
// theirs (200 vs 1,000 a minute). See the package comment.
const bulkFrom = 5

// ErrUnavailable means no decision could be obtained: the PDP was
// unreachable, slow, answered 5xx, 429 or 400, or sent a body that is not a
// decision. Callers must treat it as "cannot tell", never as a deny; the
// wrapped cause says why.
var ErrUnavailable = fmt.Errorf("authorization %w", fault.Unavailable)

// errNoUser is returned for a check without a user key, a caller bug.
var errNoUser = errors.New("authz: user key is empty")

// Config configures a Checker.
type Config struct {
	APIKey string
	// PDPURL is the PDP base URL, e.g. https://cloudpdp.api.permit.io or
	// http://localhost:7766. A trailing slash is stripped (the SDK would
	// request //allowed).
	PDPURL string
	// APIURL is the Permit API, scheme://host[:port] with no path (the
	// SDK's URL split breaks on anything else). The builder
	// requires one; empty means Permit's public API. No call is made to
	// it by this package.
	APIURL string
	// Tenant is the Permit tenant of every check; empty means the
	// PERMIT_TENANT default.
	Tenant string
	// Timeout bounds every PDP call (PERMIT_TIMEOUT); zero means the
	// PERMIT_TIMEOUT default.
	Timeout time.Duration
	// AllowTTL and DenyTTL are how long allows and denies are cached
	// (PERMIT_DECISION_TTL); zero disables caching of that outcome.
	AllowTTL time.Duration
	DenyTTL  time.Duration
	// MaxEntries bounds the cache; zero means DefaultMaxEntries.
	MaxEntries int
	// Now is the clock for cache expiry; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient, if set, supplies the base Transport (tests). It is not
	// modified; its Timeout is replaced by Timeout.
	HTTPClient *http.Client
	// ObservePDP, if set, is told the duration of every PDP call (errors
	// included), by endpoint: "allowed" or "bulk".
	ObservePDP func(endpoint string, d time.Duration)
	// Peers carries Forget to the other replicas and theirs to this one;
	// nil when there are none.
	Peers Broadcaster
}

// User is who is asking. Key is the Logto user id (sub), the Permit user key.
type User struct {
	Key, Email, Name string
}

// Request is one (resource, action) decision a page needs.
type Request struct {
	Resource, Action string
}

// Checker answers authorization questions. It is safe for concurrent use.
type Checker struct {
	tenant  string
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	peers     Broadcaster
	sdk       config.PermitConfig // copied per PDP call, never mutated
	transport *pdpTransport
	cache     *cache
	flights   singleflight.Group
	stats     counters
	observe   func(endpoint string, d time.Duration)
}

// New validates cfg and builds a Checker. It makes no network call.
func New(cfg Config) (*Checker, error) {
	var problems []error
	if cfg.APIKey == "" {
		problems = append(problems, errors.New("APIKey is required"))
	}
	pdp, err := parseBaseURL("PDPURL", cfg.PDPURL, true)
	if err != nil {
		problems = append(problems, err)
	}
	apiURL := appconfig.DefaultPermitAPIURL
	if cfg.APIURL != "" {
		api, err := parseBaseURL("APIURL", cfg.APIURL, false)
		if err != nil {
			problems = append(problems, err)
		} else {
			apiURL = api.String()
		}
	}
	for name, d := range map[string]time.Duration{"Timeout": cfg.Timeout, "AllowTTL": cfg.AllowTTL, "DenyTTL": cfg.DenyTTL} {
		if d < 0 {
			problems = append(problems, fmt.Errorf("%s must not be negative, got %s", name, d))
		}
	}
	if cfg.MaxEntries < 0 {
		problems = append(problems, fmt.Errorf("MaxEntries must not be negative, got %d", cfg.MaxEntries))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("authz config: %w", errors.Join(problems...))
	}

	c := &Checker{
		tenant:  cmp.Or(cfg.Tenant, appconfig.DefaultPermitTenant),
		timeout: cmp.Or(cfg.Timeout, appconfig.DefaultPermitTimeout),
		now:     cfg.Now,
		log:     cfg.Logger,
		cache:   newCache(cfg.AllowTTL, cfg.DenyTTL, cmp.Or(cfg.MaxEntries, DefaultMaxEntries)),
		observe: cfg.ObservePDP,
		peers:   cfg.Peers,
	}
	if c.observe == nil {
		c.observe = func(string, time.Duration) {}
	}
	if c.peers != nil {
		c.peers.Subscribe(topicForget, c.cache.forget)
		c.peers.OnResync(c.cache.forgetAll)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.transport = &pdpTransport{base: baseTransport(cfg.HTTPClient), scheme: pdp.Scheme, host: pdp.Host, prefix: pdp.Path}
	// The SDK shares this client between its REST and PDP calls;
	// pdpTransport leaves non-PDP paths alone. WithTimeout is not used:
	// it mutates the client it is given.
	shared := &http.Client{Transport: c.transport, Timeout: c.timeout}
	c.sdk = config.NewConfigBuilder(cfg.APIKey).
		WithApiUrl(apiURL).
		WithPdpUrl(pdp.String()).
		WithHTTPClient(shared).
		WithLogger(zap.NewNop()).
		Build()
	return c, nil
}

// parseBaseURL validates a base URL and strips trailing slashes. The API URL
// may not carry a path (the SDK drops it); the PDP URL may.
func parseBaseURL(name, raw string, pathOK bool) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s is required", name)
	}
	u, err := appconfig.ParseBaseURL(raw, pathOK)
	if err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	return u, nil
}

// baseTransport is the caller's transport, or a clone of the default one
// with more idle connections per host: AllowedAll sends its /allowed calls
// concurrently, and the default keeps only 2 idle connections per host.
func baseTransport(hc *http.Client) http.RoundTripper {
	if hc != nil && hc.Transport != nil {
		return hc.Transport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// Allowed reports whether u may do action on resource in the tenant.
// A non-nil error wraps ErrUnavailable (or is a caller bug: an empty user,
// resource or action); the bool is then false and means nothing.
func (c *Checker) Allowed(ctx context.Context, u User, resource, action string) (bool, error) {
	k, err := c.key(u, Request{resource, action})
	if err != nil {
		return false, err
	}
	if allow, ok := c.cached(k, c.now()); ok {
		return allow, nil
	}
	c.stats.misses.Add(1)
	allow, err := c.decide(ctx, u, k)
	c.stats.countOutcome(allow, err)
	return allow, err
}

// AllowedAll returns a decision for every request, in as few PDP requests
// as the Cloud PDP's rate limits make sensible (see the package comment):
// cached decisions cost nothing, up to four missing ones are concurrent
// /allowed calls (shared with concurrent Allowed callers), five or more are
// one /allowed/bulk call. If any decision is unavailable it returns a nil
// map and an error wrapping ErrUnavailable.
func (c *Checker) AllowedAll(ctx context.Context, u User, reqs ...Request) (map[Request]bool, error) {
	out := make(map[Request]bool, len(reqs))
	var missing []decisionKey
	now := c.now()
	for _, r := range reqs {
		k, err := c.key(u, r)
		if err != nil {
			return nil, err
		}
		if _, done := out[r]; done || slices.Contains(missing, k) {
			continue
		}
		if allow, ok := c.cached(k, now); ok {
			out[r] = allow
			continue
		}
		missing = append(missing, k)
	}
	if len(missing) == 0 {
		return out, nil
	}
	c.stats.misses.Add(int64(len(missing)))

	var decided []bool
	var err error
	if len(missing) >= bulkFrom {
		decided, err = c.decideBulk(ctx, u, missing)
	} else {
		decided, err = c.decideEach(ctx, u, missing)
	}
	if err != nil {
		c.stats.unavailable.Add(int64(len(missing)))
		return nil, err
	}
	for i, k := range missing {
		c.stats.countOutcome(decided[i], nil)
		out[Request{k.resource, k.action}] = decided[i]
	}
	return out, nil
}

// cached returns a cached decision, counting it as a hit.
func (c *Checker) cached(k decisionKey, now time.Time) (allow, ok bool) {
	if allow, ok = c.cache.get(k, now); ok {
		c.stats.hits.Add(1)
		c.stats.countOutcome(allow, nil)
	}
	return allow, ok
}

// decideEach runs one coalesced /allowed call per request, concurrently, so
// the page waits about one round trip.
func (c *Checker) decideEach(ctx context.Context, u User, keys []decisionKey) ([]bool, error) {
	decided := make([]bool, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { decided[i], errs[i] = c.decide(ctx, u, k) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return decided, nil
}

// Forget drops every cached decision about the user, e.g. after a role
// change: here at once, and on the other replicas when they hear of it.
// Checks already in flight are not cached once they return.
func (c *Checker) Forget(userKey string) {
	c.cache.forget(userKey)
	if c.peers == nil {
		return
	}
	// No caller context: Forget follows a change already made, which no
	// request should wait on or undo. Bounded like a PDP call.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.peers.Publish(ctx, topicForget, userKey); err != nil {
		c.log.Warn("tell other replicas to forget decisions", "user", userKey, "err", err)
	}
}

// Stats returns the counters, for metrics.
func (c *Checker) Stats() Stats {
	s := c.stats.snapshot()
	s.CacheEntries = c.cache.len()
	return s
}

func (c *Checker) key(u User, r Request) (decisionKey, error) {
	switch {
	case u.Key == "":
		return decisionKey{}, errNoUser
	case r.Resource == "" || r.Action == "":
		return decisionKey{}, fmt.Errorf("authz: resource and action are required, got %q:%q", r.Resource, r.Action)
	}
	return decisionKey{user: u.Key, tenant: c.tenant, resource: r.Resource, action: r.Action}, nil
}

// decide gets one decision from the PDP, sharing the call with concurrent
// identical misses, and caches it.
func (c *Checker) decide(ctx context.Context, u User, k decisionKey) (bool, error) {
	epoch := c.cache.currentEpoch()
	flight := strings.Join([]string{"allowed", fmt.Sprint(epoch), k.user, k.tenant, k.resource, k.action}, "\x00")
	v, err := c.await(ctx, flight, func() (any, error) {
		allow, err := c.check(u, k)
		if err == nil {
			c.cache.put(k, allow, c.now(), epoch)
		}
		return allow, err
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// decideBulk gets many decisions in one /allowed/bulk request, shared with
// identical concurrent batches, and caches them.
func (c *Checker) decideBulk(ctx context.Context, u User, keys []decisionKey) ([]bool, error) {
	epoch := c.cache.currentEpoch()
	parts := []string{"bulk", fmt.Sprint(epoch), u.Key, c.tenant}
	for _, k := range keys {
		parts = append(parts, k.resource, k.action)
	}
	v, err := c.await(ctx, strings.Join(parts, "\x00"), func() (any, error) {
		decided, err := c.checkBulk(u, keys)
		if err == nil {
			now := c.now()
			for i, k := range keys {
				c.cache.put(k, decided[i], now, epoch)
			}
		}
		return decided, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]bool), nil
}

// await joins (or starts) the flight for key and waits for it or for ctx.
// The flight runs without the caller's ctx: other callers may be waiting on
// it, and the http.Client timeout bounds it anyway.
func (c *Checker) await(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
	}
	led := false
	ch := c.flights.DoChan(key, func() (any, error) {
		led = true // read only after the result is received
		return fn()
	})
	c.stats.waiting.Add(1)
	defer c.stats.waiting.Add(-1)
	select {
	case res := <-ch:
		if !led {
			c.stats.coalesced.Add(1)
		}
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
	}
}

// enforcer builds the SDK enforcer for one PDP call, on a client whose
// recorder keeps the typed cause of a failure.
func (c *Checker) enforcer() (*enforcement.PermitEnforcer, *recorder) {
	rec := &recorder{next: c.transport, stats: &c.stats}
	cfg := c.sdk
	cfg.WithHTTPClient(&http.Client{Transport: rec, Timeout: c.timeout})
	return enforcement.NewPermitEnforcerClient(&cfg), rec
}

func (c *Checker) sdkUser(u User) enforcement.User {
	// Logto gives one display name; the PDP decides on the key alone and
	// shows names only in Permit's audit log.
	return enforcement.UserBuilder(u.Key).WithEmail(u.Email).WithFirstName(u.Name).Build()
}

func (c *Checker) resource(typ string) enforcement.Resource {
	// ResourceBuilder.Build fills the tenant; a literal Resource would send
	// none, and the PDP does not default it (no tenant means no roles: deny).
	return enforcement.ResourceBuilder(typ).WithTenant(c.tenant).Build()
}

func (c *Checker) check(u User, k decisionKey) (bool, error) {
	e, rec := c.enforcer()
	start := time.Now()
	allow, err := e.Check(c.sdkUser(u), enforcement.Action(k.action), c.resource(k.resource))
	c.observe("allowed", time.Since(start))
	if err := c.failure("check "+k.resource+":"+k.action, rec, err); err != nil {
		return false, err
	}
	return allow, nil
}

func (c *Checker) checkBulk(u User, keys []decisionKey) ([]bool, error) {
	e, rec := c.enforcer()
	user := c.sdkUser(u)
	checks := make([]enforcement.CheckRequest, len(keys))
	for i, k := range keys {
		checks[i] = *enforcement.NewCheckRequest(user, enforcement.Action(k.action), c.resource(k.resource), nil)
	}
	start := time.Now()
	decided, err := e.BulkCheck(checks...)
	c.observe("bulk", time.Since(start))
	if err := c.failure("bulk check", rec, err); err != nil {
		return nil, err
	}
	if len(decided) != len(keys) {
		return nil, fmt.Errorf("%w: bulk check: %d decisions for %d checks", ErrUnavailable, len(decided), len(keys))
	}
	return decided, nil
}

// failure maps any failure of one SDK call to ErrUnavailable with the most
// precise cause known: the recorder's typed error, else the SDK's. A
// recorded transport failure counts even if the SDK reported none.
func (c *Checker) failure(op string, rec *recorder, sdkErr error) error {
	cause := rec.cause()
	if cause == nil {
		cause = sdkErr
	}
	if cause == nil {
		return nil
	}
	c.stats.pdpErrors.Add(1)
	err := fmt.Errorf("%w: pdp %s: %w", ErrUnavailable, op, cause)
	c.log.Debug("authz: pdp call failed", "op", op, "err", err)
	return err
}
