// Package testkit holds helpers shared by tests: a settable clock, a
// fetched HTML page and the form filling a browser does. Only test files
// import it; the stand-in harness is in the sub-package standin.
package testkit

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told to. It is safe for
// concurrent use, because code under test reads it from other goroutines
// (HTTP handlers, workers) while the test moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time; pass it where code wants a now func.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
