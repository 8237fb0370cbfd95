// Package reports builds the reports shown to analysts from the store's
// pre-aggregated counts: today the daily sign-ups of the last 30 days, as
// data for the page, a CSV download and the geometry of its bar chart. It
// caches the built report briefly so a busy page does not query the
// database on every request.
package reports

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"reportgate/internal/store"
)

// Source supplies daily sign-up counts; *store.Users implements it.
type Source interface {
	SignupsByDay(ctx context.Context, from, to time.Time) ([]store.DayCount, error)
}

// ReportDays is the span of the sign-ups report, today included.
const ReportDays = 30

// DefaultTTL is how long a built report is served from the cache when
// NewService is given no TTL.
const DefaultTTL = 30 * time.Second

// buildTimeout bounds one report query. The query runs detached from the
// request that started it (others may be waiting on it), so it needs its
// own deadline.
const buildTimeout = 10 * time.Second

// Report is the daily sign-ups of the ReportDays UTC days ending today. A
// Report from Service is shared between callers: treat it as read-only.
type Report struct {
	From, To    time.Time // 00:00 UTC of the first and the last day
	Days        []store.DayCount
	Total       int
	ByRole      []RoleTotal // by store.CompareRoles: admin, analyst, viewer, others, "" (no role)
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

	mu      sync.Mutex
	cached  *Report
	expires time.Time
	gen     uint64 // bumped by Invalidate; a build started earlier is not cached
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

// Invalidate drops the cached report, so the next call rebuilds it (after a
// bulk import, say). A build already under way is not cached.
func (s *Service) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached = nil
	s.gen++
}

// SignupsLast30Days returns the sign-ups report, from the cache when it is
// fresh and still about today. Concurrent callers that miss the cache share
// one query; each may give up waiting when its own ctx ends.
func (s *Service) SignupsLast30Days(ctx context.Context) (Report, error) {
	now := s.now()
	today := startOfDay(now)
	s.mu.Lock()
	if s.cached != nil && now.Before(s.expires) && s.cached.To.Equal(today) {
		r := *s.cached
		s.mu.Unlock()
		return r, nil
	}
	gen := s.gen
	s.mu.Unlock()

	// The key holds the generation and the day, so callers after an
	// Invalidate or past midnight do not join an outdated build.
	key := fmt.Sprintf("%d/%s", gen, today.Format(time.DateOnly))
	ch := s.group.DoChan(key, func() (any, error) {
		// Detached from ctx: the first caller leaving must not fail the
		// others waiting on the same build.
		buildCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
		defer cancel()
		r, err := s.build(buildCtx, today)
		if err != nil {
			return Report{}, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen == gen {
			s.cached, s.expires = &r, s.now().Add(s.ttl)
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

func (s *Service) build(ctx context.Context, today time.Time) (Report, error) {
	from := today.AddDate(0, 0, -(ReportDays - 1))
	days, err := s.src.SignupsByDay(ctx, from, today)
	if err != nil {
		return Report{}, err
	}
	return newReport(from, today, days, s.now()), nil
}

// newReport derives the totals of a report from its days.
func newReport(from, to time.Time, days []store.DayCount, generatedAt time.Time) Report {
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
	slices.SortFunc(r.ByRole, func(a, b RoleTotal) int { return store.CompareRoles(a.Role, b.Role) })
	return r
}

// startOfDay is 00:00 UTC of the UTC day of t.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
