package authz

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/permitio/permit-golang/pkg/config"
	"github.com/permitio/permit-golang/pkg/enforcement"
	sdk "github.com/permitio/permit-golang/pkg/permit"
	"go.uber.org/zap"
)

// pdpCallsPerOp reports the stand-in's PDP requests per benchmark op.
func pdpCallsPerOp(b *testing.B, s permitStandin, before int64) {
	cn := s.Counts()
	b.ReportMetric(float64(cn.Allowed+cn.Bulk+cn.UserPermissions-before)/float64(b.N), "pdp-calls/op")
}

func BenchmarkAllowed(b *testing.B) {
	s := startStandin(b)
	s.grant(b, alice.Key, "analyst")
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"warm-cache", time.Hour}, {"cache-off", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newChecker(b, s.URL, func(c *Config) { c.AllowTTL, c.DenyTTL = bc.ttl, bc.ttl })
			if _, err := c.Allowed(b.Context(), alice, "reports", "view"); err != nil {
				b.Fatal(err)
			}
			cn := s.Counts()
			b.ResetTimer()
			for b.Loop() {
				if ok, err := c.Allowed(b.Context(), alice, "reports", "view"); err != nil || !ok {
					b.Fatalf("(%v, %v)", ok, err)
				}
			}
			pdpCallsPerOp(b, s, cn.Allowed+cn.Bulk+cn.UserPermissions)
		})
	}
}

// BenchmarkPageDecisions compares the ways to get the two decisions the
// reports page needs, with the raw SDK against the stand-in, optionally
// with a per-request delay standing in for a Cloud PDP round trip. The
// package comment records the figures and the choice they led to.
func BenchmarkPageDecisions(b *testing.B) {
	s := startStandin(b)
	s.grant(b, alice.Key, "analyst")
	for _, rtt := range []time.Duration{0, 5 * time.Millisecond} {
		client := sdk.New(config.NewConfigBuilder(testKey).WithPdpUrl(s.URL).WithLogger(zap.NewNop()).
			WithHTTPClient(&http.Client{Transport: delayed{rtt, http.DefaultTransport}, Timeout: 5 * time.Second}).Build())
		checker := newChecker(b, s.URL, func(c *Config) { c.HTTPClient = &http.Client{Transport: delayed{rtt, http.DefaultTransport}} })
		strategies := append(pageStrategies(client), pageStrategy{"checker-allowedall-cache-off", func() error {
			_, err := checker.AllowedAll(b.Context(), alice, Request{"reports", "view"}, Request{"reports", "export"})
			return err
		}})
		for _, st := range strategies {
			b.Run(st.name+"/rtt="+rtt.String(), func(b *testing.B) {
				cn := s.Counts()
				for b.Loop() {
					if err := st.run(); err != nil {
						b.Fatal(err)
					}
				}
				pdpCallsPerOp(b, s, cn.Allowed+cn.Bulk+cn.UserPermissions)
			})
		}
	}
}

// delayed adds a fixed latency to every request.
type delayed struct {
	d    time.Duration
	next http.RoundTripper
}

func (t delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.d > 0 {
		time.Sleep(t.d) // simulated network latency, not synchronisation
	}
	return t.next.RoundTrip(r)
}

type pageStrategy struct {
	name string
	run  func() error
}

func pageStrategies(client *sdk.Client) []pageStrategy {
	user := enforcement.UserBuilder(alice.Key).Build()
	reports := enforcement.ResourceBuilder("reports").Build()
	return []pageStrategy{
		{"bulk", func() error {
			_, err := client.BulkCheck(
				*enforcement.NewCheckRequest(user, "view", reports, nil),
				*enforcement.NewCheckRequest(user, "export", reports, nil))
			return err
		}},
		{"allowed-x2-sequential", func() error {
			if _, err := client.Check(user, "view", reports); err != nil {
				return err
			}
			_, err := client.Check(user, "export", reports)
			return err
		}},
		{"allowed-x2-concurrent", func() error {
			var wg sync.WaitGroup
			var errs [2]error
			for i, a := range []enforcement.Action{"view", "export"} {
				wg.Go(func() { _, errs[i] = client.Check(user, a, reports) })
			}
			wg.Wait()
			if errs[0] != nil {
				return errs[0]
			}
			return errs[1]
		}},
		{"user-permissions", func() error {
			_, err := client.GetUserPermissions(user, "default")
			return err
		}},
	}
}
