package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	appconfig "reportgate/internal/config"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/people"
	"reportgate/internal/webhook"
)

// The dev history: about historyPeople demo sign-ups over the historyDays
// UTC days ending today, so the report has something to show. Their emails
// are @historyDomain, apart from the four demo accounts; they have no
// password and cannot sign in.
const (
	historyPeople = 600
	historyDays   = 90
	historyDomain = "demo.example.com"
	// historySeed makes every data directory get the same people and rhythm.
	historySeed = 20261130
)

// historyPerson is one seeded sign-up.
type historyPerson struct {
	Email, Name, Role string
	CreatedAt         time.Time
}

// weekdayRhythm is the share of an average weekday's sign-ups each day of
// the week gets: busy mid-week, quiet at the weekend.
var weekdayRhythm = [7]float64{
	time.Sunday: 0.42, time.Monday: 1.05, time.Tuesday: 1.15, time.Wednesday: 1.12,
	time.Thursday: 1.08, time.Friday: 0.9, time.Saturday: 0.45,
}

var (
	historyFirstNames = []string{"Alex", "Bea", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jia",
		"Kofi", "Lena", "Mo", "Nia", "Omar", "Pia", "Quinn", "Rui", "Sami", "Tara", "Uma", "Vik", "Wen", "Yara", "Zoe"}
	historyLastNames = []string{"Abbott", "Banda", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
		"Ito", "Jensen", "Kowalski", "Larsen", "Mensah", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"}
)

// demoHistory returns the seeded people, oldest first, registered over the
// historyDays days ending on now's UTC day and never after now: a weekly
// rhythm, a gentle upward trend and some noise, the same for every run
// with the same now. Roles: mostly viewer, some analyst, few admin.
func demoHistory(now time.Time) []historyPerson {
	now = now.UTC()
	// Who the people are does not depend on the day: a restart on a later
	// day finds the same emails and adds nobody. When they registered does.
	who := rand.New(rand.NewPCG(historySeed, 1))
	rng := rand.New(rand.NewPCG(historySeed, 2))
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(historyDays - 1))
	weights := make([]float64, historyDays)
	sum := 0.0
	for i := range weights {
		day := first.AddDate(0, 0, i)
		trend := 1 + 0.7*float64(i)/float64(historyDays-1)
		noise := 0.7 + 0.6*rng.Float64()
		weights[i] = trend * weekdayRhythm[day.Weekday()] * noise
		if day.Equal(today) {
			weights[i] *= now.Sub(today).Hours() / 24 // only today so far
		}
		sum += weights[i]
	}
	// Whole people per day that add up to historyPeople exactly: round the
	// running total, not each day.
	var people []historyPerson
	done, acc := 0, 0.0
	for i, w := range weights {
		acc += w
		n := int(math.Round(acc/sum*historyPeople)) - done
		done += n
		day := first.AddDate(0, 0, i)
		span := 24 * time.Hour
		if day.Equal(today) {
			span = now.Sub(today) // today so far
		}
		for range n {
			k := len(people)
			firstName := historyFirstNames[who.IntN(len(historyFirstNames))]
			lastName := historyLastNames[who.IntN(len(historyLastNames))]
			people = append(people, historyPerson{
				Email:     fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(firstName), strings.ToLower(lastName), k+1, historyDomain),
				Name:      firstName + " " + lastName,
				Role:      historyRole(who.Float64()),
				CreatedAt: day.Add(time.Duration(rng.Int64N(int64(max(span, time.Millisecond))))).Truncate(time.Millisecond),
			})
		}
	}
	return people
}

// historyRole picks a role for a uniform draw u in [0, 1).
func historyRole(u float64) string {
	switch {
	case u < 0.03:
		return "admin"
	case u < 0.18:
		return "analyst"
	}
	return "viewer"
}

// seedHistory puts the dev history in all three places, the way real
// people get there: the Logto stand-in (their registration times), the
// Permit stand-in (their users and roles) and the app's records (with the
// same registration times, so the report's history is Logto's), marked as
// synced. People
// already seeded are left alone, so a restart adds nothing. It returns how
// many people were new to Logto.
func seedHistory(ctx context.Context, st *standins, a *app, s appconfig.Settings, now time.Time) (int, error) {
	seeded := demoHistory(now)
	in := make([]logto.ImportedUser, len(seeded))
	for i, p := range seeded {
		in[i] = logto.ImportedUser{Email: p.Email, Name: p.Name, CreatedAt: p.CreatedAt}
	}
	accounts, created, err := st.logto.ImportUsers(in)
	if err != nil {
		return 0, fmt.Errorf("seed history in Logto: %w", err)
	}
	facts := make([]permit.ImportedUser, len(seeded))
	records := make([]people.Person, len(seeded))
	for i, p := range seeded {
		u := accounts[i]
		facts[i] = permit.ImportedUser{Key: u.ID, Email: p.Email, FirstName: p.Name, Role: p.Role, Tenant: s.Permit.Tenant}
		records[i] = people.Person{ID: u.ID, Email: p.Email, Name: p.Name, RegisteredAt: u.CreatedAt, FirstSeenAt: u.CreatedAt,
			Roles: []string{p.Role}, RolesCheckedAt: u.CreatedAt}
	}
	if _, err := st.permit.ImportUsers(facts); err != nil {
		return 0, fmt.Errorf("seed history in Permit: %w", err)
	}
	if err := a.users.UpsertMany(ctx, records); err != nil {
		return 0, fmt.Errorf("seed history in the app database: %w", err)
	}
	// Already in Permit with their role, like the demo accounts: backfill
	// and sign-in reconciliation must not queue syncs that would add the
	// default role to an analyst or an admin.
	for i, p := range seeded {
		u := accounts[i]
		if err := a.prov.MarkSynced(ctx, webhook.User{ID: u.ID, Email: p.Email, Name: p.Name, CreatedAt: u.CreatedAt}, true); err != nil {
			return 0, fmt.Errorf("seed history: %w", err)
		}
	}
	return created, nil
}
