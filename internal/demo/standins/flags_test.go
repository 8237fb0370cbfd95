package standins

import (
	"flag"
	"testing"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/devstack"
)

func TestFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	f := AddFlags(fs, "data")
	if err := fs.Parse([]string{"--data", "/tmp/x", "--permit-propagation-delay", "2s", "--webhook-retries", "--logto-addr", "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	sl := &devstack.Listeners{}
	o := f.Options(sl, config.Settings{}, "http://app", "http://app/webhooks/logto")
	if o.DataDir != "/tmp/x" || o.PermitDelay != 2*time.Second || !o.WebhookRetries || o.Listeners != sl ||
		len(o.AppBaseURLs) != 1 || o.AppBaseURLs[0] != "http://app" || o.WebhookURL != "http://app/webhooks/logto" {
		t.Errorf("options = %+v", o)
	}
	if *f.LogtoAddr != "127.0.0.1:1" || *f.PermitAddr != "127.0.0.1:7766" {
		t.Errorf("addresses = %s, %s", *f.LogtoAddr, *f.PermitAddr)
	}
}
