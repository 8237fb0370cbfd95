package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"reportgate/internal/audit"
	"reportgate/internal/database"
	"reportgate/internal/database/databasetest"
	"reportgate/internal/testkit"
)

func actions(entries []audit.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func TestListFiltersNewestFirstWithPaging(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := testkit.NewClock(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
		trail := audit.New(db, 0, c.Now)
		for i, e := range []audit.Entry{
			{ActorID: audit.ActorSystem, Action: audit.RoleGranted, SubjectID: "u1", Role: "viewer"},
			{ActorID: "admin", ActorName: "Ada", Action: audit.RequestApproved, SubjectID: "u1", RequestID: 7},
			{ActorID: audit.ActorCLI, Action: audit.RoleGranted, SubjectID: "u2", Role: "admin"},
		} {
			c.Advance(time.Minute)
			if err := trail.Record(ctx, e); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		all, total, err := trail.List(ctx, audit.Filter{}, 0, 0)
		if err != nil || total != 3 {
			t.Fatalf("List = %d entries, total %d, %v", len(all), total, err)
		}
		if got, want := actions(all), []string{audit.RoleGranted, audit.RequestApproved, audit.RoleGranted}; !slices.Equal(got, want) || all[0].ActorID != audit.ActorCLI {
			t.Errorf("newest first: got %v (first by %s)", got, all[0].ActorID)
		}
		if all[1].RequestID != 7 || all[1].ActorName != "Ada" {
			t.Errorf("approval entry = %+v", all[1])
		}
		byPerson, total, _ := trail.List(ctx, audit.Filter{Person: "u1"}, 1, 1)
		if total != 2 || len(byPerson) != 1 || byPerson[0].Action != audit.RoleGranted {
			t.Errorf("person u1, page 2 of 1: %v of %d", actions(byPerson), total)
		}
		byActor, total, _ := trail.List(ctx, audit.Filter{Actor: audit.ActorSystem, Action: audit.RoleGranted}, 10, 0)
		if total != 1 || byActor[0].SubjectID != "u1" {
			t.Errorf("actor system + role.granted: %+v of %d", byActor, total)
		}
	})
}

func TestSweepDeletesOnlyEntriesPastRetention(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		trail := audit.New(db, 24*time.Hour, c.Now)
		trail.Record(ctx, audit.Entry{ActorID: "a", Action: "old"})
		c.Advance(23 * time.Hour)
		trail.Record(ctx, audit.Entry{ActorID: "a", Action: "recent"})
		c.Advance(2 * time.Hour) // "old" is 25 h old, "recent" 2 h
		n, err := trail.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1", n, err)
		}
		left, _, _ := trail.List(ctx, audit.Filter{}, 0, 0)
		if got := actions(left); !slices.Equal(got, []string{"recent"}) {
			t.Errorf("left %v, want [recent]", got)
		}
	})
}

func TestEraseKeepsEntriesButNotPersonalData(t *testing.T) {
	t.Parallel()
	databasetest.ForEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		trail := audit.New(db, 0, nil)
		trail.Record(ctx, audit.Entry{ActorID: "gone", ActorName: "Gone Person", Action: audit.RequestOpened,
			SubjectID: "gone", SubjectName: "Gone Person", Detail: "my secret reason"})
		trail.Record(ctx, audit.Entry{ActorID: "admin", ActorName: "Ada", Action: audit.RequestDeclined,
			SubjectID: "gone", SubjectName: "Gone Person", Detail: "note about them"})
		trail.Record(ctx, audit.Entry{ActorID: "gone", ActorName: "Gone Person", Action: audit.RoleGranted,
			SubjectID: "other", SubjectName: "Other", Detail: "kept"})
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.EraseTx(ctx, tx, "gone"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		all, total, _ := trail.List(ctx, audit.Filter{}, 0, 0)
		if total != 3 {
			t.Fatalf("%d entries left, want all 3", total)
		}
		for _, e := range all {
			for _, field := range []string{e.ActorName, e.SubjectName, e.Detail} {
				if field == "Gone Person" || field == "my secret reason" || field == "note about them" {
					t.Errorf("entry %s still holds %q", e.Action, field)
				}
			}
			if e.Action == audit.RoleGranted && (e.SubjectName != "Other" || e.Detail != "kept" || e.ActorID != "gone") {
				t.Errorf("entry about someone else changed: %+v", e)
			}
		}
	})
}

func TestWriteCSVEscapesFormulas(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := audit.WriteCSV(&buf, []audit.Entry{{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ActorID: "u1",
		ActorName: "=HYPERLINK(\"http://evil\")", Action: audit.RequestOpened, Detail: "+1, \"quoted\"", RequestID: 3}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv = %v, %v", rows, err)
	}
	row := rows[1]
	if row[0] != "2026-01-02T03:04:05Z" || row[2] != "'=HYPERLINK(\"http://evil\")" || row[8] != "'+1, \"quoted\"" || row[9] != "3" {
		t.Errorf("row = %q", row)
	}
}
