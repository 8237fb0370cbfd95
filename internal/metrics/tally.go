package metrics

import (
	"sync"
	"time"
)

// Tally counts events by kind in memory: in total since the process
// started and over the last 24 hours (hourly buckets). It feeds pages that
// must show counts without a database write per event, such as rejected
// webhook deliveries, which anyone can send. Counts are per replica.
type Tally struct {
	now func() time.Time

	mu    sync.Mutex
	kinds map[string]*kindTally
}

type kindTally struct {
	total int64
	hours [24]hourCount
}

type hourCount struct {
	hour int64 // Unix hour the count belongs to
	n    int64
}

// Count is one kind's figures.
type Count struct {
	Kind           string
	Last24h, Total int64
}

// NewTally returns an empty Tally; now nil means time.Now.
func NewTally(now func() time.Time) *Tally {
	if now == nil {
		now = time.Now
	}
	return &Tally{now: now, kinds: map[string]*kindTally{}}
}

// Add counts one event of kind.
func (t *Tally) Add(kind string) {
	hour := t.now().Unix() / 3600
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.kinds[kind]
	if k == nil {
		k = &kindTally{}
		t.kinds[kind] = k
	}
	k.total++
	b := &k.hours[hour%24]
	if b.hour != hour {
		*b = hourCount{hour: hour}
	}
	b.n++
}

// Counts returns the figures of each kind in kinds, zeros included, in
// that order. Last24h covers the current hour and the 23 before it.
func (t *Tally) Counts(kinds ...string) []Count {
	hour := t.now().Unix() / 3600
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Count, len(kinds))
	for i, kind := range kinds {
		out[i].Kind = kind
		k := t.kinds[kind]
		if k == nil {
			continue
		}
		out[i].Total = k.total
		for _, b := range k.hours {
			if b.hour > hour-24 {
				out[i].Last24h += b.n
			}
		}
	}
	return out
}
