package reports

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// fakePeers keeps the subscriptions and notes what was published.
type fakePeers struct {
	handlers  map[string][]func(string)
	resync    []func()
	published []string
	fail      error
}

func (p *fakePeers) Subscribe(topic string, fn func(string)) {
	if p.handlers == nil {
		p.handlers = map[string][]func(string){}
	}
	p.handlers[topic] = append(p.handlers[topic], fn)
}

func (p *fakePeers) OnResync(fn func()) { p.resync = append(p.resync, fn) }

func (p *fakePeers) Publish(_ context.Context, topic, key string) error {
	p.published = append(p.published, topic+" "+key)
	return p.fail
}

// TestSharedDropsTheReportOnEveryReplica: a change here drops the cache
// and tells the peers; a peer's notice and a resync drop it here.
func TestSharedDropsTheReportOnEveryReplica(t *testing.T) {
	t.Parallel()
	src := &fakeSource{signupsByDay: zeroDays}
	svc := NewService(src, func() time.Time { return date(2025, 11, 3).Add(12 * time.Hour) }, time.Hour)
	peers := &fakePeers{fail: errors.New("a lost notice is only logged")}
	changed := svc.Shared(peers, slog.New(slog.NewTextHandler(io.Discard, nil)))
	calls := func() int32 {
		t.Helper()
		if _, err := svc.Signups(context.Background(), Last(DefaultDays)); err != nil {
			t.Fatal(err)
		}
		return src.calls.Load()
	}
	if calls() != 1 || calls() != 1 {
		t.Fatal("the report is not cached")
	}
	changed()
	if got := calls(); got != 2 || len(peers.published) != 1 || peers.published[0] != peersTopic+" signups" {
		t.Errorf("after a change here: %d builds, published %v; want a rebuild and one notice", got, peers.published)
	}
	for _, fn := range peers.handlers[peersTopic] {
		fn("signups")
	}
	if got := calls(); got != 3 {
		t.Errorf("after a peer's notice: %d builds, want 3", got)
	}
	for _, fn := range peers.resync {
		fn()
	}
	if got := calls(); got != 4 {
		t.Errorf("after a resync: %d builds, want 4", got)
	}
}
