package broadcast

import "context"

// Start runs the bus (Run) in the background until ctx ends or stop is
// called; stop returns once Run has, so a database closed after it has no
// listener left on it.
func (b *Bus) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
