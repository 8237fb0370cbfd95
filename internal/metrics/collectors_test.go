package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestJobsGaugeOnlyFromTheLeader(t *testing.T) {
	t.Parallel()
	for _, leader := range []bool{true, false} {
		m := New(nil)
		count := func(context.Context) (map[string]int64, bool, error) {
			if !leader {
				return nil, false, nil
			}
			return map[string]int64{"available": 3, "completed": 9}, true, nil
		}
		if err := m.Register(JobsCollector(count, time.Second, slog.New(slog.DiscardHandler))); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		m.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		exported := strings.Contains(body, "reportgate_sync_jobs{")
		if exported != leader {
			t.Errorf("leader=%v: gauge exported=%v", leader, exported)
		}
		if leader && (!strings.Contains(body, `reportgate_sync_jobs{state="available"} 3`) ||
			!strings.Contains(body, `reportgate_sync_jobs{state="discarded"} 0`)) {
			t.Errorf("leader's gauge lacks its states or their zeros:\n%s", body)
		}
	}
}
