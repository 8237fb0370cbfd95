package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/database"
	"reportgate/internal/webhook"
)

// tableRows counts the rows of every table in the database.
func tableRows(t *testing.T, db *database.DB) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	counts := map[string]int{}
	for _, name := range tables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+name+`"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	return counts
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d", url, resp.StatusCode)
	}
	return string(body)
}

// TestDevMetricsListenerAndFreeRejectedWebhooks: dev serves metrics on
// their own listener (port 0 here), and unsigned webhooks are counted
// there without a database write.
func TestDevMetricsListenerAndFreeRejectedWebhooks(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	if d.metricsURL == "" {
		t.Fatal("dev printed no metrics URL")
	}
	if resp, err := http.Get(d.appURL + "/metrics"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", resp.StatusCode)
	}

	db, err := database.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "reportgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := tableRows(t, db)
	const forgeries = 20
	body := `{"event":"User.Created","createdAt":"2026-11-28T10:00:00.000Z","data":{"id":"abc123def456"}}`
	for range forgeries {
		req, _ := http.NewRequest(http.MethodPost, d.appURL+"/webhooks/logto", strings.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, strings.Repeat("ab", 32))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged webhook: %d", resp.StatusCode)
		}
	}
	got := scrape(t, d.metricsURL)
	if !strings.Contains(got, `reportgate_webhook_deliveries_total{outcome="rejected_signature"} 20`) {
		t.Errorf("metrics do not count the 20 forgeries:\n%s", got)
	}
	if !strings.Contains(got, `route="POST /webhooks/logto"`) {
		t.Error("metrics lack the webhook route")
	}
	after := tableRows(t, db)
	for table, n := range after {
		if n > before[table] {
			t.Errorf("table %s grew from %d to %d rows after rejected webhooks", table, before[table], n)
		}
	}
	if _, ok := before["webhook_counts"]; !ok {
		t.Errorf("webhook_counts was not among the tables checked: %v", before)
	}
	// The only replica leads River once elected, so it exports the queue.
	eventually(t, 30*time.Second, "the jobs-by-state gauge", func() bool {
		return strings.Contains(scrape(t, d.metricsURL), `reportgate_sync_jobs{state="available"} `)
	})
}

func TestListenOrWarnWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if ln := listenOrWarn(taken.Addr().String(), logger); ln != nil {
		ln.Close()
		t.Fatal("listened on a port already in use")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "metrics listener not started") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	ln := listenOrWarn("127.0.0.1:0", logger)
	if ln == nil {
		t.Fatal("port 0 did not listen")
	}
	ln.Close()
	if listenOrWarn("", logger) != nil {
		t.Error(`"" must turn the listener off`)
	}
}

func TestRateLimitSettingZeroTurnsLimitsOff(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(0, 0) }
	if signIn, hooks := rateLimits(config.Settings{RateLimit: 0}, now); signIn != nil || hooks != nil {
		t.Fatal("REPORTGATE_RATE_LIMIT=0 still limits")
	}
	signIn, hooks := rateLimits(config.Settings{RateLimit: 2}, now)
	if signIn == nil || hooks == nil {
		t.Fatal("no limits with REPORTGATE_RATE_LIMIT=2")
	}
	r := httptest.NewRequest("GET", "/sign-in", nil)
	for range 2 {
		signIn.Allow(r)
	}
	if ok, _ := signIn.Allow(r); ok {
		t.Error("the third sign-in within a minute passed a limit of 2")
	}
	if ok, _ := hooks.Allow(r); !ok {
		t.Error("sign-ins used up the webhook budget")
	}
}
