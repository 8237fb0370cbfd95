package provision

import (
	"context"
	"sync"
	"time"

	"reportgate/internal/webhook"
)

const (
	// maxIngestBatch bounds how many deliveries share one transaction, so
	// one batch holds its locks for a bounded time.
	maxIngestBatch = 64
	// ingestTxTimeout bounds one batch transaction, the wait for the
	// database's lock included.
	ingestTxTimeout = 10 * time.Second
)

// pendingDelivery is a delivery waiting for the transaction that records
// it. Everything that needs no database (hash, classification,
// sanitizing) is done before, on the request's goroutine.
type pendingDelivery struct {
	ctx     context.Context
	ev      webhook.Event
	hash    string
	outcome Outcome // as classified; record may turn it into duplicate or ignored
	payload []byte
	now     time.Time
	done    chan ingestResult // buffered: the writer never waits for a reader
}

type ingestResult struct {
	outcome Outcome
	revoke  bool
	err     error
}

// groupCommitter batches concurrent deliveries into shared transactions.
// No writer waits for a batch to fill: while one batch commits, or while
// the database is busy, the deliveries that arrive queue up and become the
// next batch, so a lone delivery is written at once and a burst costs one
// commit (one disk flush) per batch rather than per delivery. A writer
// goroutine runs only while there is work, so the Service needs no Start
// for Ingest and leaves nothing running when idle.
type groupCommitter struct {
	// write takes a batch with take once it is ready to write it, then
	// answers every delivery of that batch.
	write func(take func() []*pendingDelivery)
	// writers is how many batches may be written at once: 1 for SQLite,
	// which has one connection; more for PostgreSQL, where a batch's round
	// trips and flush overlap another's.
	writers int

	mu      sync.Mutex
	queue   []*pendingDelivery
	writing int
}

// submit queues d and waits for its result, or for ctx to end. A delivery
// whose caller gave up before its batch started is not written; one whose
// batch already started may still be committed (then a retry of the same
// body is a duplicate).
func (c *groupCommitter) submit(ctx context.Context, d *pendingDelivery) (ingestResult, error) {
	c.mu.Lock()
	c.queue = append(c.queue, d)
	if c.writing < c.writers {
		c.writing++
		go c.drain()
	}
	c.mu.Unlock()
	select {
	case r := <-d.done:
		return r, r.err
	case <-ctx.Done():
		return ingestResult{}, ctx.Err()
	}
}

// drain writes batches until the queue is empty, then exits.
func (c *groupCommitter) drain() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.queue = nil // let the backing array go after a burst
			c.writing--
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.write(c.take)
	}
}

// take removes up to maxIngestBatch deliveries from the queue and returns
// those whose callers still wait; the others are answered with their
// context's error.
func (c *groupCommitter) take() []*pendingDelivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxIngestBatch)
	batch := make([]*pendingDelivery, 0, n)
	for _, d := range c.queue[:n] {
		if err := d.ctx.Err(); err != nil {
			d.done <- ingestResult{err: err}
			continue
		}
		batch = append(batch, d)
	}
	c.queue = c.queue[n:]
	return batch
}
