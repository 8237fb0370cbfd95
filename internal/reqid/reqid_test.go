package reqid

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestValidRefusesLogForgery(t *testing.T) {
	for id, want := range map[string]bool{
		"abc-123_DEF.4":             true,
		"":                          false,
		strings.Repeat("a", 65):     false,
		"a b":                       false,
		"x\nlevel=ERROR msg=forged": false,
		"quote\"":                   false,
		"d3adb33fd3adb33f":          true,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler{slog.NewTextHandler(&buf, nil)}).With("component", "test")
	log.InfoContext(With(context.Background(), "r-42"), "hello")
	log.Info("no context id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "request_id=r-42") || strings.Contains(lines[1], "request_id") {
		t.Fatalf("log lines:\n%s", buf.String())
	}
	if id := From(context.Background()); id != "" {
		t.Errorf("From(empty) = %q", id)
	}
	if a, b := New(), New(); a == b || !Valid(a) {
		t.Errorf("New() = %q, %q", a, b)
	}
}
