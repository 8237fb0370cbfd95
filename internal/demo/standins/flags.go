package standins

import (
	"flag"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/devstack"
)

// Flags are the command-line flags `reportgate dev` and `reportgate
// devstack` share: where the stand-ins listen and keep their state, and how
// they behave.
type Flags struct {
	LogtoAddr, PermitAddr, DataDir *string
	PermitDelay                    *time.Duration
	WebhookRetries                 *bool
}

// AddFlags defines the shared flags on fs; dataUsage says what the data
// directory holds for the command.
func AddFlags(fs *flag.FlagSet, dataUsage string) Flags {
	return Flags{
		LogtoAddr:      fs.String("logto-addr", "127.0.0.1:3001", "Logto stand-in listen address"),
		PermitAddr:     fs.String("permit-addr", "127.0.0.1:7766", "Permit stand-in listen address"),
		DataDir:        fs.String("data", "./data", dataUsage),
		PermitDelay:    fs.Duration("permit-propagation-delay", 0, "delay before the Permit stand-in's PDP sees an API write (real Permit is eventually consistent)"),
		WebhookRetries: fs.Bool("webhook-retries", false, "make the Logto stand-in retry webhooks 3 times on 5xx (newer Logto) instead of sending once"),
	}
}

// Options are the stand-ins' options for an app at appURL that receives
// webhooks at webhookURL.
func (f Flags) Options(sl *devstack.Listeners, s config.Settings, appURL, webhookURL string) Options {
	return Options{DataDir: *f.DataDir, Listeners: sl, PermitDelay: *f.PermitDelay,
		AppBaseURLs: []string{appURL}, WebhookURL: webhookURL, WebhookRetries: *f.WebhookRetries, Settings: s}
}
