package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The dev history: about HistoryPeople demo sign-ups over the HistoryDays
// UTC days ending today, so the report has something to show. Their emails
// are @HistoryDomain, apart from the four demo accounts; they have no
// password and cannot sign in.
const (
	HistoryPeople = 600
	HistoryDays   = 90
	HistoryDomain = "demo.example.com"
	// historySeed makes every data directory get the same people and rhythm.
	historySeed = 20261130
)

// Seeded is one sign-up of the dev history.
type Seeded struct {
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

// History returns the seeded people, oldest first, registered over the
// HistoryDays days ending on now's UTC day and never after now: a weekly
// rhythm, a gentle upward trend and some noise, the same for every run
// with the same now. Roles: mostly viewer, some analyst, few admin.
func History(now time.Time) []Seeded {
	now = now.UTC()
	// Who the people are does not depend on the day: a restart on a later
	// day finds the same emails and adds nobody. When they registered does.
	who := rand.New(rand.NewPCG(historySeed, 1))
	rng := rand.New(rand.NewPCG(historySeed, 2))
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(HistoryDays - 1))
	weights := make([]float64, HistoryDays)
	sum := 0.0
	for i := range weights {
		day := first.AddDate(0, 0, i)
		trend := 1 + 0.7*float64(i)/float64(HistoryDays-1)
		noise := 0.7 + 0.6*rng.Float64()
		weights[i] = trend * weekdayRhythm[day.Weekday()] * noise
		if day.Equal(today) {
			weights[i] *= now.Sub(today).Hours() / 24 // only today so far
		}
		sum += weights[i]
	}
	// Whole people per day that add up to HistoryPeople exactly: round the
	// running total, not each day.
	var people []Seeded
	done, acc := 0, 0.0
	for i, w := range weights {
		acc += w
		n := int(math.Round(acc/sum*HistoryPeople)) - done
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
			people = append(people, Seeded{
				Email:     fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(firstName), strings.ToLower(lastName), k+1, HistoryDomain),
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
