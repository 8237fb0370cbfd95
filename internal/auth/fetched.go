package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
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
	name   string // names the document in errors
	flight singleflight.Group

	mu       sync.Mutex
	value    T
	at       time.Time // when value was fetched; zero while there is none
	failure  error
	failedAt time.Time
}

// get returns the value when it was fetched less than maxAge ago;
// otherwise the outcome of the fetch in flight, of a failed one less than
// failureTTL ago, or of a new one.
func (f *fetched[T]) get(ctx context.Context, now func() time.Time, maxAge time.Duration, fetch func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s: %w", f.name, err)
	}
	if v, ok, err := f.kept(now(), maxAge); ok {
		return v, err
	}
	ch := f.flight.DoChan(f.name, func() (any, error) {
		// A fetch that ended just before this one was asked for answers it.
		if v, ok, err := f.kept(now(), maxAge); ok {
			return v, err
		}
		v, err := fetch()
		f.mu.Lock()
		if err == nil {
			f.value, f.at, f.failure = v, now(), nil
		} else {
			f.failure, f.failedAt = err, now()
		}
		f.mu.Unlock()
		return v, err
	})
	select {
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w: no answer in time: %w", f.name, ErrUnavailable, ctx.Err())
	}
}

// kept is the value fetched less than maxAge before t, or the failure of
// a fetch less than failureTTL before t; ok is false when there is neither.
func (f *fetched[T]) kept(t time.Time, maxAge time.Duration) (v T, ok bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.at.IsZero() && t.Sub(f.at) < maxAge {
		return f.value, true, nil
	}
	if f.failure != nil && t.Sub(f.failedAt) < failureTTL {
		return v, true, f.failure
	}
	return v, false, nil
}
