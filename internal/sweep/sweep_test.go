package sweep

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination the sweeping goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunRepeatsEachJobAndStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	counted, failed := make(chan struct{}, 100), make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, logger,
			Job{What: "expired rows", Every: time.Millisecond, Delete: func(context.Context) (int64, error) {
				counted <- struct{}{}
				return 3, nil
			}},
			Job{What: "old rows", Every: time.Millisecond, Delete: func(context.Context) (int64, error) {
				failed <- struct{}{}
				return 0, errors.New("disk on fire")
			}},
		)
	}()
	for range 3 { // the first run and two ticks of each
		<-counted
		<-failed
	}
	cancel()
	<-done
	out := logs.String()
	for _, want := range []string{`msg="swept expired rows" count=3`, `msg="sweep old rows" err="disk on fire"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestRunQuietAboutNothingAndAboutCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	Run(ctx, slog.New(slog.NewTextHandler(&logs, nil)),
		Job{What: "nothing", Every: time.Hour, Delete: func(context.Context) (int64, error) { return 0, nil }},
		Job{What: "cut short", Every: time.Hour, Delete: func(context.Context) (int64, error) {
			cancel() // the app is stopping while this job runs
			return 0, context.Canceled
		}},
	)
	if out := logs.String(); out != "" {
		t.Errorf("logged %q", out)
	}
}
