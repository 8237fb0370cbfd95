// Package probe asks a running reportgate whether it is ready, for
// container health checks: a FROM-scratch image has no curl or wget.
package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// timeout bounds a probe: an orchestrator's own probe timeout is a few
// seconds, and a hung app must count as not ready, not as a hung probe.
const timeout = 3 * time.Second

// DefaultURL is /readyz on loopback at the port of listenAddr, the app's
// REPORTGATE_ADDR ("" is serve's default, :8080).
func DefaultURL(listenAddr string) (string, error) {
	if listenAddr == "" {
		listenAddr = ":8080"
	}
	_, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("REPORTGATE_ADDR %q: %w", listenAddr, err)
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/readyz", nil
}

// Ready is nil when target answers 200.
func Ready(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", target, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", target, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s", target, resp.Status)
	}
	return nil
}
