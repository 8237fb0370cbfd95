package standins

import (
	"fmt"
	"io"
	"net"
	"strings"

	"reportgate/internal/config"
	"reportgate/internal/demo"
	"reportgate/internal/devstack"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
)

// PrintBanner prints what `reportgate dev` shows once it is ready: where
// the app, the stand-ins and the metrics (metricsLn; nil when off) are,
// and how to sign in. Tests find the URLs by the line labels.
func PrintBanner(w io.Writer, s config.Settings, l *devstack.Listeners, metricsLn net.Listener, history bool) {
	fmt.Fprintf(w, "reportgate dev is running (offline: local Logto and Permit stand-ins, SQLite)\n\n")
	fmt.Fprintf(w, "  App:    %s\n", s.BaseURL)
	fmt.Fprintf(w, "  Logto:  %s (stand-in)\n", l.LogtoURL)
	fmt.Fprintf(w, "  Permit: %s (stand-in: API and PDP)\n", l.PermitURL)
	if metricsLn != nil {
		fmt.Fprintf(w, "  Metrics: http://%s/metrics (private listener)\n", metricsLn.Addr())
	}
	fmt.Fprintf(w, "  Data:   %s\n", strings.TrimPrefix(s.DatabaseURL, "sqlite:"))
	fmt.Fprintf(w, "  Stand-in controls (faults, propagation delay, webhooks): %s%s and %s%s (README)\n\n",
		l.PermitURL, permit.ControlPrefix, l.LogtoURL, logto.ControlPrefix)
	fmt.Fprintf(w, "Demo accounts (password %q):\n", devstack.DemoPassword)
	for _, a := range devstack.DemoAccounts() {
		role := a.Role
		if role == "" {
			role = "no role"
		}
		fmt.Fprintf(w, "  %-22s %-12s %s\n", a.Email, a.Name, role)
	}
	if history {
		fmt.Fprintf(w, "\nReport history: %d demo people signed up over the last %d days (@%s, no password; --seed-history=false leaves them out)\n",
			demo.HistoryPeople, demo.HistoryDays, demo.HistoryDomain)
	}
	fmt.Fprintf(w, "\nPress Ctrl+C to stop.\n")
}

// PrintServeSettings prints what `reportgate devstack` shows: the settings
// a separately started `reportgate serve` needs to use the stand-ins, as
// KEY=value lines a shell or .env takes, then their controls and the demo
// accounts as comments.
func PrintServeSettings(w io.Writer, s config.Settings, l *devstack.Listeners) {
	fmt.Fprintf(w, "# Stand-ins running. Settings for `reportgate serve`:\n")
	for _, kv := range [][2]string{
		{"REPORTGATE_BASE_URL", s.BaseURL.String()},
		{"REPORTGATE_SESSION_SECRET", string(s.SessionSecret)},
		{"REPORTGATE_DATABASE_URL", s.DatabaseURL},
		{"LOGTO_ENDPOINT", s.Logto.Endpoint},
		{"LOGTO_APP_ID", s.Logto.AppID},
		{"LOGTO_APP_SECRET", s.Logto.AppSecret},
		{"LOGTO_WEBHOOK_SIGNING_KEY", s.Logto.WebhookSigningKey},
		{"LOGTO_M2M_APP_ID", s.Logto.M2MAppID},
		{"LOGTO_M2M_APP_SECRET", s.Logto.M2MAppSecret},
		{"PERMIT_API_KEY", s.Permit.APIKey},
		{"PERMIT_API_URL", s.Permit.APIURL},
		{"PERMIT_PDP_URL", s.Permit.PDPURL},
	} {
		fmt.Fprintf(w, "%s=%s\n", kv[0], kv[1])
	}
	fmt.Fprintf(w, "# Stand-in controls: %s%s (Bearer PERMIT_API_KEY) and %s%s (Basic LOGTO_M2M_APP_ID:LOGTO_M2M_APP_SECRET)\n",
		l.PermitURL, permit.ControlPrefix, l.LogtoURL, logto.ControlPrefix)
	emails := make([]string, 0, 4)
	for _, a := range devstack.DemoAccounts() {
		emails = append(emails, a.Email)
	}
	fmt.Fprintf(w, "# Demo accounts: %s (password %q)\n", strings.Join(emails, ", "), devstack.DemoPassword)
}
