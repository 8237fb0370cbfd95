package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/reqid"
)

// logRequests gives each request an id (adopting a sane X-Request-ID from
// a proxy), logs one line per request and measures it under its route: the
// ServeMux pattern that matches it, never the raw path (which would mint a
// series per user id), and "" for the catch-all 404.
func logRequests(next http.Handler, logger *slog.Logger, mux *http.ServeMux, obs Observer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !reqid.Valid(id) {
			id = reqid.New()
		}
		ctx := reqid.With(r.Context(), id)
		w.Header().Set("X-Request-ID", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		inner := r.WithContext(ctx)
		next.ServeHTTP(rec, inner)
		took := time.Since(start)
		// The mux records the pattern on the request it serves, which the
		// middleware in between passes on as is. An answer given before
		// the mux (host redirect, cross-origin refusal) leaves it empty:
		// only then is the route looked up.
		route := inner.Pattern
		if route == "" {
			_, route = mux.Handler(r)
		}
		if route == catchAllPattern {
			route = ""
		}
		obs.ObserveHTTP(route, r.Method, rec.status, took)
		logger.LogAttrs(ctx, slog.LevelInfo, "http",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", took))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func recoverPanics(next http.Handler, pages *pageRenderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				pages.fail(w, r, nil, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// canonicalHost redirects requests that arrive under another host name
// (localhost vs 127.0.0.1, a bare IP) to the public base URL, so cookies
// and the Logto callback always live on one origin. Health probes are
// answered on any host, and webhooks too: Logto does not follow a redirect
// of its webhook POST, so the delivery would be lost.
func canonicalHost(next http.Handler, base *url.URL) http.Handler {
	canonical := *base
	canonical.Host = config.CanonicalHost(base)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", webhookPath:
			next.ServeHTTP(w, r)
			return
		}
		if r.Host != canonical.Host && config.CanonicalHost(&url.URL{Scheme: base.Scheme, Host: r.Host}) != canonical.Host {
			target := canonical
			target.Path = r.URL.Path
			target.RawQuery = r.URL.RawQuery
			http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// permissionsPolicy denies the browser features reportgate never uses, so
// injected content could not use them either.
const permissionsPolicy = "accelerometer=(), autoplay=(), camera=(), display-capture=(), " +
	"encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), " +
	"microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), " +
	"screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=(), interest-cohort=(), browsing-topics=()"

// securityHeaders sets the security headers on every answer before the
// handlers run, so redirects and error pages carry them too. HSTS is sent
// only when the public base URL is https: over plain http browsers ignore
// it, and it must never pin a dev host to https.
func securityHeaders(next http.Handler, logtoOrigin string, https bool) http.Handler {
	// form-action must allow Logto: sign-out posts a form whose response
	// redirects there, and browsers apply form-action to that redirect.
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"form-action 'self' " + logtoOrigin + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimited answers 429 to a client over its limit; nil limit means none.
func rateLimited(next http.Handler, limit RateLimiter, pages *pageRenderer) http.Handler {
	if limit == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := limit.Allow(r); !ok {
			pages.fail(w, r, nil, &limitedError{retryAfter: wait})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noStore marks every answer as not to be stored. Pages depend on the
// session, and the sign-in redirects carry one-time state: on Back,
// browsers replay stored responses, redirects included, without asking
// again, which signs a person back in or loops through a spent sign-in.
// Static assets replace this with their own long cache lifetime.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
