package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// failureTTL is how long a failed fetch is remembered, so that while Logto
// is down a burst of requests fails at once instead of each waiting a full
// Timeout for a fetch of its own.
const failureTTL = time.Second

// fetched is a document fetched from Logto (discovery, the key set) and
// kept for reuse. Concurrent callers share one fetch, whether it succeeds
// or fails, and each waits for it only as long as its own context allows.
// The fetch runs apart from its callers, so one caller giving up fails no
// other; it is bounded by the HTTP client's Timeout, as the SDK's fetch
// functions take no context.
type fetched[T any] struct {
	name string // names the document in errors

	mu       sync.Mutex
	value    T
	at       time.Time // when value was fetched; zero while there is none
	failure  error
	failedAt time.Time
	inFlight *fetchCall[T]
}

type fetchCall[T any] struct {
	done  chan struct{}
	value T
	err   error
}

// get returns the value when it was fetched less than maxAge ago;
// otherwise the outcome of the fetch in flight, of a failed one less than
// failureTTL ago, or of a new one.
func (f *fetched[T]) get(ctx context.Context, now func() time.Time, maxAge time.Duration, fetch func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s: %w", f.name, err)
	}
	f.mu.Lock()
	t := now()
	if !f.at.IsZero() && t.Sub(f.at) < maxAge {
		defer f.mu.Unlock()
		return f.value, nil
	}
	if f.failure != nil && t.Sub(f.failedAt) < failureTTL {
		defer f.mu.Unlock()
		return zero, f.failure
	}
	call := f.inFlight
	if call == nil {
		call = &fetchCall[T]{done: make(chan struct{})}
		f.inFlight = call
		go f.run(call, now, fetch)
	}
	f.mu.Unlock()
	select {
	case <-call.done:
		return call.value, call.err
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w: no answer in time: %w", f.name, ErrUnavailable, ctx.Err())
	}
}

func (f *fetched[T]) run(call *fetchCall[T], now func() time.Time, fetch func() (T, error)) {
	call.value, call.err = fetch()
	f.mu.Lock()
	if call.err == nil {
		f.value, f.at, f.failure = call.value, now(), nil
	} else {
		f.failure, f.failedAt = call.err, now()
	}
	f.inFlight = nil
	f.mu.Unlock()
	close(call.done)
}
