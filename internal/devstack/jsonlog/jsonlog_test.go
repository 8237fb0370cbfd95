package jsonlog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func lines(t *testing.T, l *Log) []string {
	t.Helper()
	var out []string
	found, err := l.Replay(func(line []byte) error {
		out = append(out, strings.TrimSpace(string(line)))
		return nil
	})
	if err != nil || !found {
		t.Fatalf("Replay: %v, found %v", err, found)
	}
	return out
}

func TestAppendCompactReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := New(dir, "x.jsonl")
	if found, err := l.Replay(func([]byte) error { return nil }); found || err != nil {
		t.Fatalf("no file: found %v, %v", found, err)
	}
	if err := l.Compact(func(emit func(any) error) error { return emit(map[string]int{"a": 1}) }); err != nil {
		t.Fatal(err)
	}
	live := l.Size()
	l.SetMinSize(0)
	for range Factor - 1 {
		if err := l.Append(map[string]int{"a": 2}); err != nil {
			t.Fatal(err)
		}
	}
	if l.Due() {
		t.Errorf("due at %d bytes, live %d", l.Size(), live)
	}
	if err := l.Append(map[string]int{"a": 3}); err != nil {
		t.Fatal(err)
	}
	if !l.Due() {
		t.Errorf("not due at %d bytes, live %d", l.Size(), live)
	}
	if got := lines(t, l); len(got) != 1+Factor || got[Factor] != `{"a":3}` {
		t.Errorf("lines = %v", got)
	}
	if err := l.Compact(func(emit func(any) error) error { return emit(map[string]int{"a": 3}) }); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(map[string]int{"b": 1}); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, New(dir, "x.jsonl")); len(got) != 2 || got[0] != `{"a":3}` || got[1] != `{"b":1}` {
		t.Errorf("after compaction: %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(1); err == nil {
		t.Error("Append after Close succeeded")
	}
}

func TestTornLastLineIsDropped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.jsonl"), []byte("{\"a\":1}\n{\"a\":"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, New(dir, "x.jsonl")); len(got) != 1 {
		t.Errorf("lines = %v, want the torn one dropped", got)
	}
}

func TestCompactInBackgroundKeepsWritesMadeMeanwhile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := New(dir, "x.jsonl")
	if err := l.Compact(func(emit func(any) error) error { return emit("old") }); err != nil {
		t.Fatal(err)
	}
	if err := l.Append("superseded"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	l.CompactInBackground(func(emit func(any) error) error {
		<-release // appends happen while the snapshot is being written
		return emit("snapshot")
	}, func(err error) { t.Errorf("compaction failed: %v", err) })
	if l.Due() {
		t.Error("due while a compaction runs")
	}
	if err := l.Append("during"); err != nil {
		t.Fatal(err)
	}
	close(release)
	l.Wait()
	if err := l.Append("after"); err != nil {
		t.Fatal(err)
	}
	want := []string{`"snapshot"`, `"during"`, `"after"`}
	if got := lines(t, New(dir, "x.jsonl")); !slices.Equal(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
