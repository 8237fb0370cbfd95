package session

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzSealerOpen: arbitrary cookie values never panic, and whatever opens
// is something the key sealed (here only "payload"), and only before its
// expiry. The key is derived from a fixed secret, so every fuzz worker
// process opens the seed sealed in another.
func FuzzSealerOpen(f *testing.F) {
	s, err := newSealer("test", bytes.Repeat([]byte("s"), 32))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	sealed := s.seal([]byte("payload"), now.Add(time.Minute))
	if payload, ok := s.open(sealed, now); !ok || string(payload) != "payload" {
		f.Fatalf("own value did not open: %q, %v", payload, ok)
	}
	f.Add(sealed)
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("A", 60))
	f.Fuzz(func(t *testing.T, value string) {
		payload, ok := s.open(value, now)
		if !ok {
			return
		}
		if string(payload) != "payload" {
			t.Fatalf("forged value %q opened to %q", value, payload)
		}
		if _, ok := s.open(value, now.Add(time.Minute+time.Millisecond)); ok {
			t.Fatal("opened after its expiry")
		}
	})
}

func TestSealerLabelsSeparateKeys(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte("s"), 32)
	a, _ := newSealer("a", secret)
	b, _ := newSealer("b", secret)
	now := time.Now()
	if _, ok := b.open(a.seal([]byte("x"), now.Add(time.Minute)), now); ok {
		t.Fatal("a value sealed under one label opened under another")
	}
}
