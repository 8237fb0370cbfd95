// Package reports builds the reports shown to analysts from people's
// pre-aggregated counts: today the daily sign-ups over a range of days, as
// data for the page, a CSV download and the geometry of its bar chart. It
// caches the built report briefly so a busy page does not query the
// database on every request.
package reports

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"reportgate/internal/people"
)

// Source supplies daily sign-up counts; *people.Store implements it.
type Source interface {
	SignupsByDay(ctx context.Context, from, to time.Time) ([]people.DayCount, error)
}

// DefaultTTL is how long a built report is served from the cache when
// NewService is given no TTL.
const DefaultTTL = 30 * time.Second

// buildTimeout bounds one report query. The query runs detached from the
// request that started it (others may be waiting on it), so it needs its
// own deadline.
const buildTimeout = 10 * time.Second

// Report is the daily sign-ups of a range of UTC days. A Report from
// Service is shared between callers: treat it as read-only.
type Report struct {
	Range       Range     // as asked for
	From, To    time.Time // 00:00 UTC of the first and the last day
	Days        []people.DayCount
	Total       int
	ByRole      []RoleTotal // by people.CompareRoles: admin, analyst, viewer, others, "" (no role)
	Max         int         // largest daily total: the chart's scale
	GeneratedAt time.Time
}

// RoleTotal is the number of sign-ups over the report counted under one
// role bucket ("" = no role).
type RoleTotal struct {
	Role  string
	Count int
}

// Service builds reports and caches them.
type Service struct {
	src   Source
	now   func() time.Time
	ttl   time.Duration
	group singleflight.Group

	mu     sync.Mutex
	cached map[int]cachedReport // by preset length in days
	gen    uint64               // bumped by Invalidate; a build started earlier is not cached
}

type cachedReport struct {
	report  Report
	expires time.Time
}

// NewService returns a Service reading src. now (time.Now when nil)
// decides what "today" is and when a cached report expires; a report is
// reused for ttl (DefaultTTL when ttl <= 0).
func NewService(src Source, now func() time.Time, ttl time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Service{src: src, now: now, ttl: ttl}
}

// Invalidate drops the cached reports, so the next call rebuilds them (a
// new sign-up, a bulk import). A build already under way is not cached.
func (s *Service) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached = nil
	s.gen++
}

// Peers carries invalidations between replicas (broadcast.Bus).
type Peers interface {
	Subscribe(topic string, fn func(key string))
	OnResync(fn func())
	Publish(ctx context.Context, topic, key string) error
}

// peersTopic is the topic that drops the cached report on the other
// replicas.
const peersTopic = "report"

// Shared makes the cached report drop on every replica when any of them
// sees the sign-up counts change (a new sign-up above all), so the change
// shows at once; and here when the peers may have missed notices. It
// returns what to call on such a change.
func (s *Service) Shared(peers Peers, logger *slog.Logger) (changed func()) {
	peers.Subscribe(peersTopic, func(string) { s.Invalidate() })
	peers.OnResync(s.Invalidate)
	return func() {
		s.Invalidate()
		// Publish bounds itself with a deadline; a lost notice leaves the
		// other replicas' reports at most the cache TTL old.
		if err := peers.Publish(context.Background(), peersTopic, "signups"); err != nil {
			logger.Warn("tell other replicas the report changed", "err", err)
		}
	}
}

// Signups returns the sign-ups report of rg. A preset comes from the cache
// when it is fresh and still about today; concurrent callers that miss the
// cache share one query, and each may give up waiting when its own ctx
// ends. A custom range is built for the caller alone, never cached: any
// of thousands of ranges could be asked for.
func (s *Service) Signups(ctx context.Context, rg Range) (Report, error) {
	now := s.now()
	today := startOfDay(now)
	if rg.Custom() {
		ctx, cancel := context.WithTimeout(ctx, buildTimeout)
		defer cancel()
		r, err := s.build(ctx, rg, today)
		if err != nil {
			return Report{}, fmt.Errorf("sign-ups report: %w", err)
		}
		return r, nil
	}
	s.mu.Lock()
	if c, ok := s.cached[rg.Days]; ok && now.Before(c.expires) && c.report.To.Equal(today) {
		s.mu.Unlock()
		return c.report, nil
	}
	gen := s.gen
	s.mu.Unlock()
	// The key holds the generation, the range and the day, so callers after
	// an Invalidate or past midnight do not join an outdated build.
	key := fmt.Sprintf("%d/%d/%s", gen, rg.Days, today.Format(time.DateOnly))
	ch := s.group.DoChan(key, func() (any, error) {
		// Detached from ctx: the first caller leaving must not fail the
		// others waiting on the same build.
		buildCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
		defer cancel()
		r, err := s.build(buildCtx, rg, today)
		if err != nil {
			return Report{}, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen == gen {
			if s.cached == nil {
				s.cached = map[int]cachedReport{}
			}
			s.cached[rg.Days] = cachedReport{report: r, expires: s.now().Add(s.ttl)}
		}
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Report{}, fmt.Errorf("sign-ups report: %w", res.Err)
		}
		return res.Val.(Report), nil
	case <-ctx.Done():
		return Report{}, fmt.Errorf("sign-ups report: %w", ctx.Err())
	}
}

func (s *Service) build(ctx context.Context, rg Range, today time.Time) (Report, error) {
	from, to := rg.bounds(today)
	days, err := s.src.SignupsByDay(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	r := newReport(from, to, days, s.now())
	r.Range = rg
	return r, nil
}

// newReport derives the totals of a report from its days.
func newReport(from, to time.Time, days []people.DayCount, generatedAt time.Time) Report {
	r := Report{From: from, To: to, Days: days, GeneratedAt: generatedAt}
	byRole := map[string]int{}
	for _, d := range days {
		r.Total += d.Total
		r.Max = max(r.Max, d.Total)
		for role, n := range d.ByRole {
			byRole[role] += n
		}
	}
	for role, n := range byRole {
		if n != 0 {
			r.ByRole = append(r.ByRole, RoleTotal{Role: role, Count: n})
		}
	}
	slices.SortFunc(r.ByRole, func(a, b RoleTotal) int { return people.CompareRoles(a.Role, b.Role) })
	return r
}

// startOfDay is 00:00 UTC of the UTC day of t.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
