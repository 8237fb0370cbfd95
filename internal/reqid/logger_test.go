package reqid

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLoggerLevelFormatAndRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(&buf, "warn", true)
	ctx := With(context.Background(), "r-1")
	logger.InfoContext(ctx, "below the level")
	logger.WarnContext(ctx, "kept")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, buf.String())
	}
	if rec["msg"] != "kept" || rec["request_id"] == nil {
		t.Errorf("record %v", rec)
	}

	buf.Reset()
	NewLogger(&buf, "nonsense", false).Debug("debug is below the default info")
	NewLogger(&buf, "nonsense", false).Info("text")
	if out := buf.String(); strings.Contains(out, "debug is below") || !strings.HasPrefix(out, "time=") {
		t.Errorf("text logger wrote %q", out)
	}
}
