package demo

import (
	"strings"
	"testing"
	"time"
)

func TestDemoHistoryIsBelievable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)
	people := History(now)
	if len(people) != HistoryPeople {
		t.Fatalf("%d people, want %d", len(people), HistoryPeople)
	}
	first := time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)
	var weekday, weekend, early, late int
	roles, emails := map[string]int{}, map[string]bool{}
	for _, p := range people {
		if p.CreatedAt.Before(first) || p.CreatedAt.After(now) {
			t.Fatalf("%s registered at %s, outside %s..%s", p.Email, p.CreatedAt, first, now)
		}
		if !strings.HasSuffix(p.Email, "@"+HistoryDomain) || emails[p.Email] {
			t.Fatalf("email %q not unique under @%s", p.Email, HistoryDomain)
		}
		emails[p.Email] = true
		roles[p.Role]++
		if wd := p.CreatedAt.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend++
		} else {
			weekday++
		}
		if p.CreatedAt.Before(first.AddDate(0, 0, 30)) {
			early++
		} else if !p.CreatedAt.Before(first.AddDate(0, 0, 60)) {
			late++
		}
	}
	// Per day: a weekend day well below a weekday; the last month above the first.
	if perWeekend, perWeekday := float64(weekend)/26, float64(weekday)/64; perWeekend > 0.7*perWeekday {
		t.Errorf("weekend %.1f a day vs weekday %.1f: no weekly rhythm", perWeekend, perWeekday)
	}
	if late <= early {
		t.Errorf("last 30 days %d, first 30 days %d: no upward trend", late, early)
	}
	if !(roles["viewer"] > roles["analyst"] && roles["analyst"] > roles["admin"] && roles["admin"] > 0) {
		t.Errorf("roles %v: want mostly viewers, some analysts, few admins", roles)
	}
	// Deterministic, and who the people are does not depend on the day.
	again, later := History(now), History(now.AddDate(0, 0, 5))
	for i := range people {
		if again[i] != people[i] || later[i].Email != people[i].Email || later[i].Role != people[i].Role {
			t.Fatalf("person %d differs between runs: %+v, %+v, %+v", i, people[i], again[i], later[i])
		}
	}
}
