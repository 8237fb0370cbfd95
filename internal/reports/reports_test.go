package reports

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reportgate/internal/people"
	"reportgate/internal/testkit"
)

// fakeSource is a hand-written Source: a function field plus a call count.
type fakeSource struct {
	calls        atomic.Int32
	signupsByDay func(ctx context.Context, from, to time.Time) ([]people.DayCount, error)
}

func (f *fakeSource) SignupsByDay(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
	f.calls.Add(1)
	return f.signupsByDay(ctx, from, to)
}

// zeroDays answers like the store does for an empty database.
func zeroDays(_ context.Context, from, to time.Time) ([]people.DayCount, error) {
	var days []people.DayCount
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		days = append(days, people.DayCount{Day: d, ByRole: map[string]int{}})
	}
	return days, nil
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestDefaultRangeFollowsUTCDay(t *testing.T) {
	newYork := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name     string
		now      time.Time
		wantFrom time.Time
		wantTo   time.Time
	}{
		{"last second of a UTC day", time.Date(2025, 11, 3, 23, 59, 59, 999e6, time.UTC), date(2025, 10, 5), date(2025, 11, 3)},
		{"first instant of the next UTC day", time.Date(2025, 11, 4, 0, 0, 0, 0, time.UTC), date(2025, 10, 6), date(2025, 11, 4)},
		// 20:00 on Nov 3 in New York is already Nov 4 in UTC.
		{"local zone is ignored", time.Date(2025, 11, 3, 20, 0, 0, 0, newYork), date(2025, 10, 6), date(2025, 11, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotFrom, gotTo time.Time
			src := &fakeSource{signupsByDay: func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
				gotFrom, gotTo = from, to
				return zeroDays(ctx, from, to)
			}}
			r, err := NewService(src, func() time.Time { return tt.now }, 0).Signups(context.Background(), Last(DefaultDays))
			if err != nil {
				t.Fatal(err)
			}
			if !gotFrom.Equal(tt.wantFrom) || !gotTo.Equal(tt.wantTo) {
				t.Errorf("queried %s..%s, want %s..%s", gotFrom, gotTo, tt.wantFrom, tt.wantTo)
			}
			if !r.From.Equal(tt.wantFrom) || !r.To.Equal(tt.wantTo) || len(r.Days) != DefaultDays {
				t.Errorf("report %s..%s with %d days, want %s..%s with %d", r.From, r.To, len(r.Days), tt.wantFrom, tt.wantTo, DefaultDays)
			}
		})
	}
}

func TestReportTotalsAndRoleSplit(t *testing.T) {
	now := time.Date(2025, 11, 3, 12, 0, 0, 0, time.UTC)
	src := &fakeSource{signupsByDay: func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		days, _ := zeroDays(ctx, from, to)
		days[0] = people.DayCount{Day: from, Total: 3, ByRole: map[string]int{"viewer": 2, "": 1}}
		days[DefaultDays-1] = people.DayCount{Day: to, Total: 5, ByRole: map[string]int{"zeta": 1, "admin": 1, "analyst": 1, "beta": 1, "viewer": 1}}
		return days, nil
	}}
	r, err := NewService(src, func() time.Time { return now }, 0).Signups(context.Background(), Last(DefaultDays))
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 8 || r.Max != 5 {
		t.Errorf("Total, Max = %d, %d; want 8, 5", r.Total, r.Max)
	}
	want := []RoleTotal{{"admin", 1}, {"analyst", 1}, {"viewer", 3}, {"beta", 1}, {"zeta", 1}, {"", 1}}
	if !reflect.DeepEqual(r.ByRole, want) {
		t.Errorf("ByRole = %v, want %v", r.ByRole, want)
	}
	if !r.GeneratedAt.Equal(now) {
		t.Errorf("GeneratedAt = %s, want %s", r.GeneratedAt, now)
	}
}

func TestCacheServesWithinTTLAndRebuildsAfter(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2025, 11, 3, 12, 0, 0, 0, time.UTC))
	src := &fakeSource{signupsByDay: zeroDays}
	svc := NewService(src, clk.Now, time.Minute)
	ctx := context.Background()
	get := func() {
		t.Helper()
		if _, err := svc.Signups(ctx, Last(DefaultDays)); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name      string
		before    func()
		wantCalls int32
	}{
		{"first call builds", func() {}, 1},
		{"second call hits the cache", func() {}, 1},
		{"still fresh just before the TTL", func() { clk.Advance(time.Minute - time.Millisecond) }, 1},
		{"expired at the TTL", func() { clk.Advance(time.Millisecond) }, 2},
		{"fresh again", func() { clk.Advance(time.Second) }, 2},
		{"Invalidate forces a rebuild", svc.Invalidate, 3},
		// 12:01:01 + 11h58m59s = 23:59:59.999 → the cache is fresh but about yesterday after midnight.
		{"same day, within the TTL", func() { clk.Advance(11*time.Hour + 58*time.Minute + 58*time.Second + 999*time.Millisecond) }, 4},
		{"midnight within the TTL rebuilds", func() { clk.Advance(time.Millisecond) }, 5},
	}
	for _, s := range steps {
		s.before()
		get()
		if got := src.calls.Load(); got != s.wantCalls {
			t.Fatalf("%s: source called %d times, want %d", s.name, got, s.wantCalls)
		}
	}
}

func TestConcurrentMissesShareOneQuery(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src := &fakeSource{signupsByDay: func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		once.Do(func() { close(started) })
		<-release
		return zeroDays(ctx, from, to)
	}}
	now := time.Date(2025, 11, 3, 12, 0, 0, 0, time.UTC)
	svc := NewService(src, func() time.Time { return now }, 0)

	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	call := func() {
		defer wg.Done()
		_, err := svc.Signups(context.Background(), Last(DefaultDays))
		errs <- err
	}
	wg.Add(1)
	go call()
	<-started // the first build is in flight and has missed the cache
	for range callers - 1 {
		wg.Add(1)
		go call()
	}
	time.Sleep(50 * time.Millisecond) // let the others reach the cache miss
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Errorf("source called %d times for %d concurrent callers, want 1", got, callers)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	fail := errors.New("database down")
	src := &fakeSource{}
	src.signupsByDay = func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		if src.calls.Load() == 1 {
			return nil, fail
		}
		return zeroDays(ctx, from, to)
	}
	svc := NewService(src, func() time.Time { return date(2025, 11, 3) }, 0)
	if _, err := svc.Signups(context.Background(), Last(DefaultDays)); !errors.Is(err, fail) {
		t.Fatalf("first call: err = %v, want %v", err, fail)
	}
	if _, err := svc.Signups(context.Background(), Last(DefaultDays)); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("source called %d times, want 2", got)
	}
}

func TestCallerGivingUpDoesNotFailTheBuild(t *testing.T) {
	release := make(chan struct{})
	src := &fakeSource{signupsByDay: func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err // the build must not inherit the caller's cancellation
		}
		return zeroDays(ctx, from, to)
	}}
	svc := NewService(src, func() time.Time { return date(2025, 11, 3) }, 0)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := svc.Signups(ctx, Last(DefaultDays)); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v, want context.Canceled", err)
	}
	close(release)
	// The next caller joins or follows the same build, which succeeds.
	if _, err := svc.Signups(context.Background(), Last(DefaultDays)); err != nil {
		t.Fatal(err)
	}
	if got := src.calls.Load(); got != 1 {
		t.Errorf("source called %d times, want 1", got)
	}
}

func TestInvalidateDuringBuildDiscardsItsResult(t *testing.T) {
	svc := (*Service)(nil)
	src := &fakeSource{}
	src.signupsByDay = func(ctx context.Context, from, to time.Time) ([]people.DayCount, error) {
		if src.calls.Load() == 1 {
			svc.Invalidate() // data changed while the first build was reading
		}
		return zeroDays(ctx, from, to)
	}
	svc = NewService(src, func() time.Time { return date(2025, 11, 3) }, 0)
	for range 2 {
		if _, err := svc.Signups(context.Background(), Last(DefaultDays)); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("source called %d times, want 2 (the first build straddled Invalidate)", got)
	}
}
