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

// metricsPoll is how often the sync wait reads the metrics.
const metricsPoll = 200 * time.Millisecond

// metricsReader reads single values from a Prometheus text endpoint.
type metricsReader struct {
	url    string
	client *http.Client
}

func newMetricsReader(u *url.URL) *metricsReader {
	return &metricsReader{url: u.String(), client: &http.Client{Timeout: reqTimeout}}
}

// read returns the value of each of series, in order; a series the
// endpoint does not list is an error.
func (m *metricsReader) read(ctx context.Context, series ...string) ([]float64, error) {
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
	return parseSeries(resp.Body, series)
}

// parseSeries finds each of series (name and labels exactly as exposed)
// in a Prometheus text exposition.
func parseSeries(r io.Reader, series []string) ([]float64, error) {
	values := make([]float64, len(series))
	found := make([]bool, len(series))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for i, s := range series {
			rest, ok := strings.CutPrefix(line, s+" ")
			if !ok {
				continue
			}
			// A sample may carry a timestamp after its value.
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				return nil, fmt.Errorf("read metrics: %s: %w", s, err)
			}
			values[i], found[i] = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("read metrics: no %s; is this reportgate's metrics endpoint?", series[i])
		}
	}
	return values, nil
}

// syncedBy waits until the instance's succeeded sync jobs exceed base by
// want, and returns how long after start that was seen. Each new person
// needs one job, and a person's second delivery joins the job still
// waiting; one that arrives after the job started adds a second, so the
// count can run a job or two ahead of the people synced.
func (m *metricsReader) syncedBy(ctx context.Context, base, want float64, start time.Time) (time.Duration, error) {
	tick := time.NewTicker(metricsPoll)
	defer tick.Stop()
	for {
		v, err := m.read(ctx, syncedSeries)
		if err != nil {
			return 0, err
		}
		if v[0]-base >= want {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("loadtest webhooks: %.0f of %.0f sync jobs succeeded before the timeout", v[0]-base, want)
		case <-tick.C:
		}
	}
}

// idleRSS prints the instance's resident memory now and after idle.
func (m *metricsReader) idleRSS(ctx context.Context, w io.Writer, idle time.Duration) error {
	before, err := m.read(ctx, rssSeries)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(idle):
	}
	after, err := m.read(ctx, rssSeries)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  RSS: %.1f MB when synced, %.1f MB after %s idle (%+.1f %%)\n",
		before[0]/1e6, after[0]/1e6, idle, 100*(after[0]-before[0])/before[0])
	return nil
}
