package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The series read from the instance's Prometheus endpoint.
const (
	syncedSeries = `reportgate_sync_jobs_total{result="succeeded"}`
	rssSeries    = "process_resident_memory_bytes"
)

// liveJobSeries are the sync jobs still to run. Only River's leader
// exports them; on the one replica of dev it always leads once elected.
var liveJobSeries = []string{
	`reportgate_sync_jobs{state="available"}`, `reportgate_sync_jobs{state="scheduled"}`,
	`reportgate_sync_jobs{state="running"}`, `reportgate_sync_jobs{state="retryable"}`,
}

// metricsPoll is how often the sync wait reads the metrics.
const metricsPoll = 200 * time.Millisecond

// metricsReader reads samples from a Prometheus text endpoint.
type metricsReader struct {
	url    string
	client *http.Client
}

func newMetricsReader(u *url.URL) *metricsReader {
	return &metricsReader{url: u.String(), client: &http.Client{Timeout: reqTimeout}}
}

// samples is one read of the endpoint: each series (name and labels as
// exposed) and its value.
type samples map[string]float64

// need returns the value of series, or an error naming it when the
// endpoint did not list it.
func (s samples) need(series string) (float64, error) {
	v, ok := s[series]
	if !ok {
		return 0, fmt.Errorf("read metrics: no %s; is this reportgate's metrics endpoint?", series)
	}
	return v, nil
}

func (m *metricsReader) read(ctx context.Context) (samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, err
	}
	// Without this, an endpoint that can may answer in OpenMetrics or protobuf.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics: %s answered %s", m.url, resp.Status)
	}
	return parseSamples(resp.Body)
}

// parseSamples reads a Prometheus text exposition.
func parseSamples(r io.Reader) (samples, error) {
	out := samples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest, ok := cutSeries(line)
		fields := strings.Fields(rest)
		if !ok || len(fields) == 0 {
			return nil, fmt.Errorf("read metrics: malformed line %q", line)
		}
		// A sample may carry a timestamp after its value.
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("read metrics: %s: %w", series, err)
		}
		out[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// syncedBy waits until the instance's succeeded sync jobs exceed base by
// want and, where the instance exports its job states, no sync job is left
// to run, and returns how long after start that was seen. Each new person
// needs one job and a person's second delivery joins the job still
// waiting, so the count alone could run ahead only by the second jobs of
// deliveries that came after their job started; the job states close
// that gap. exact says whether they were there to close it.
func (m *metricsReader) syncedBy(ctx context.Context, base, want float64, start time.Time) (took time.Duration, exact bool, _ error) {
	tick := time.NewTicker(metricsPoll)
	defer tick.Stop()
	for {
		s, err := m.read(ctx)
		if err != nil {
			return 0, false, err
		}
		succeeded, err := s.need(syncedSeries)
		if err != nil {
			return 0, false, err
		}
		live, exact := 0.0, true
		for _, series := range liveJobSeries {
			v, ok := s[series]
			live, exact = live+v, exact && ok
		}
		if succeeded-base >= want && live == 0 {
			return time.Since(start), exact, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, fmt.Errorf("loadtest webhooks: %.0f of %.0f sync jobs succeeded, %.0f left to run, before the timeout",
				succeeded-base, want, live)
		case <-tick.C:
		}
	}
}

// idleRSS prints the instance's resident memory now and after idle.
func (m *metricsReader) idleRSS(ctx context.Context, w io.Writer, idle time.Duration) error {
	before, err := m.rss(ctx)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(idle):
	}
	after, err := m.rss(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  RSS: %.1f MB when synced, %.1f MB after %s idle (%+.1f %%)\n",
		before/1e6, after/1e6, idle, 100*(after-before)/before)
	return nil
}

func (m *metricsReader) rss(ctx context.Context) (float64, error) {
	s, err := m.read(ctx)
	if err != nil {
		return 0, err
	}
	return s.need(rssSeries)
}

// cutSeries splits a sample line after its series: the name and, if
// any, the braced labels, whose quoted values may hold spaces, braces and
// escaped quotes.
func cutSeries(line string) (series, rest string, ok bool) {
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", "", false
	}
	if line[i] == ' ' {
		return line[:i], line[i:], true
	}
	quoted := false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case quoted && c == '\\':
			j++ // the escaped character
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return line[:j+1], line[j+1:], true
		}
	}
	return "", "", false
}
