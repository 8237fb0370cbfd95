package progress

import (
	"strings"
	"testing"
)

func TestLinesWhenNotATerminal(t *testing.T) {
	var out strings.Builder
	b := New(&out, "backfill", "users")
	b.Show(100, 250)
	b.Show(7, 0)
	b.Done()
	if want := "backfill: 100/250 users\nbackfill: 7/7 users\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestBarOnATerminal(t *testing.T) {
	var out strings.Builder
	b := &Bar{w: &out, name: "backfill", unit: "users", terminal: true}
	b.Show(50, 100)
	b.Show(300, 100) // a total that grew past the estimate stays a full bar
	b.Done()
	want := "\r[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] 50/100 users" +
		"\r[" + strings.Repeat("#", 30) + "] 300/100 users\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestDoneAloneWritesNothing(t *testing.T) {
	var out strings.Builder
	b := &Bar{w: &out, terminal: true}
	b.Done()
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}
