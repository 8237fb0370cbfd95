// Package devstack starts the local Logto and Permit stand-ins together, as
// `reportgate dev` and `reportgate devstack` run them: their listeners, the
// demo accounts seeded in Logto, and the secrets generated once per data
// directory. It imports nothing of the product: what it needs from the
// app's settings and policy come in as plain values (the policy as the
// Permit stand-in's own Schema), and applying the policy or granting the
// demo roles is left to the caller.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
)

// MemoryLimit is a soft memory limit for a process that runs only the
// stand-ins. They hold about 1 KB per user (110 MB live at 100k), and by
// default the GC lets the heap reach twice the live size before it
// collects; the limit keeps the process near its live size while loaded.
const MemoryLimit = 176 << 20

// shutdownTimeout bounds Stack.Shutdown: the stand-ins' requests are short.
const shutdownTimeout = 5 * time.Second

// ListenURL listens on addr and returns the listener with its http URL,
// the real port when addr asks for port 0.
func ListenURL(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, "http://" + ln.Addr().String(), nil
}

// Listeners are the stand-ins' sockets, opened before the app's settings
// are built so that port 0 (tests) resolves to real URLs.
type Listeners struct {
	logto, permit       net.Listener
	LogtoURL, PermitURL string
}

// Listen opens the Logto and Permit stand-ins' listeners.
func Listen(logtoAddr, permitAddr string) (*Listeners, error) {
	l := &Listeners{}
	var err error
	if l.logto, l.LogtoURL, err = ListenURL(logtoAddr); err != nil {
		return nil, err
	}
	if l.permit, l.PermitURL, err = ListenURL(permitAddr); err != nil {
		l.logto.Close()
		return nil, err
	}
	return l, nil
}

// Close closes both listeners; closing them again after a Stack served on
// them is harmless.
func (l *Listeners) Close() {
	l.logto.Close()
	l.permit.Close()
}

// Config is what the stand-ins need to know of the app.
type Config struct {
	// DataDir keeps the stand-ins' state across restarts.
	DataDir string
	// AppID and AppSecret are the app's Traditional web app in Logto,
	// M2MAppID and M2MAppSecret its machine-to-machine app.
	AppID, AppSecret       string
	M2MAppID, M2MAppSecret string
	// AppBaseURLs are the app's origins: each gets <base>/callback as a
	// redirect URI and <base>/ as a post sign-out redirect URI.
	AppBaseURLs []string
	// WebhookURL receives the Logto stand-in's webhooks, signed with
	// WebhookSigningKey; WebhookRetries makes it retry as newer Logto does.
	WebhookURL, WebhookSigningKey string
	WebhookRetries                bool
	// Permit configures the Permit stand-in (APIKey, Schema,
	// PropagationDelay); Start sets its DataDir and Logger.
	Permit permit.Config
	// Logger receives the stand-ins' diagnostics.
	Logger *slog.Logger
}

// Stack is the Logto and Permit stand-ins serving on their listeners.
type Stack struct {
	Logto      *logto.Server
	Permit     *permit.Server
	logtoHTTP  *http.Server
	permitHTTP *http.Server
	done       chan error
}

// Start serves the Logto stand-in, with the demo accounts seeded, and the
// Permit stand-in on l's listeners. The demo accounts get no Permit user or
// role here: the caller grants those as an admin would.
func Start(l *Listeners, cfg Config) (*Stack, error) {
	var redirects, postLogout []string
	for _, base := range cfg.AppBaseURLs {
		base = strings.TrimRight(base, "/")
		redirects = append(redirects, base+"/callback")
		postLogout = append(postLogout, base+"/")
	}
	var seed []logto.SeedUser
	for _, a := range DemoAccounts() {
		seed = append(seed, logto.SeedUser{Email: a.Email, Password: DemoPassword, Name: a.Name})
	}
	lt, err := logto.New(logto.Config{
		Endpoint: l.LogtoURL,
		DataDir:  cfg.DataDir,
		Apps: []logto.App{
			{ID: cfg.AppID, Secret: cfg.AppSecret, Type: "Traditional", RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout},
			{ID: cfg.M2MAppID, Secret: cfg.M2MAppSecret, Type: "MachineToMachine"},
		},
		SeedUsers:         seed,
		WebhookURL:        cfg.WebhookURL,
		WebhookSigningKey: cfg.WebhookSigningKey,
		WebhookRetries:    cfg.WebhookRetries,
		Logger:            cfg.Logger.With("component", "logto-standin"),
	})
	if err != nil {
		return nil, fmt.Errorf("start Logto stand-in: %w", err)
	}
	pcfg := cfg.Permit
	pcfg.DataDir = cfg.DataDir
	pcfg.Logger = cfg.Logger.With("component", "permit-standin")
	pm, err := permit.New(pcfg)
	if err != nil {
		lt.Close()
		return nil, fmt.Errorf("start Permit stand-in: %w", err)
	}
	s := &Stack{
		Logto:      lt,
		logtoHTTP:  &http.Server{Handler: lt.Handler(), ReadHeaderTimeout: 10 * time.Second},
		Permit:     pm,
		permitHTTP: &http.Server{Handler: pm.Handler(), ReadHeaderTimeout: 10 * time.Second},
		done:       make(chan error, 2),
	}
	for srv, ln := range map[*http.Server]net.Listener{s.logtoHTTP: l.logto, s.permitHTTP: l.permit} {
		go func() {
			err := srv.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			s.done <- err
		}()
	}
	return s, nil
}

// Shutdown stops serving and closes both stand-ins, which saves their
// state.
func (s *Stack) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range []*http.Server{s.logtoHTTP, s.permitHTTP} {
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			// Connections still open at the deadline (a browser's
			// pre-opened sockets) are closed, not a failed shutdown.
			err = srv.Close()
		}
		errs = append(errs, err)
	}
	<-s.done
	<-s.done
	return errors.Join(append(errs, s.Logto.Close(), s.Permit.Close())...)
}
