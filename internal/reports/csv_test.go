package reports

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"testing"

	"reportgate/internal/people"
)

func TestWriteCSV(t *testing.T) {
	r := Report{
		Days: []people.DayCount{
			{Day: date(2025, 11, 3), Total: 3, ByRole: map[string]int{"admin": 1, "": 2}},
			{Day: date(2025, 11, 4), Total: 0, ByRole: map[string]int{}},
		},
		ByRole: []RoleTotal{{"admin", 1}, {"", 2}},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := "day,total,admin,(no role)\n2025-11-03,3,1,2\n2025-11-04,0,0,0\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteCSVEscapesFormulaRoleNames(t *testing.T) {
	tests := []struct{ role, want string }{
		{"=SUM(1)", "'=SUM(1)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@x", "'@x"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"viewer", "viewer"},
		{"a=b", "a=b"}, // only a leading character triggers a formula
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			r := Report{
				Days:   []people.DayCount{{Day: date(2025, 11, 3), Total: 1, ByRole: map[string]int{tt.role: 1}}},
				ByRole: []RoleTotal{{tt.role, 1}},
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, r); err != nil {
				t.Fatal(err)
			}
			records, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatalf("output is not valid CSV: %v", err)
			}
			wantHeader := []string{"day", "total", tt.want}
			if !reflect.DeepEqual(records[0], wantHeader) {
				t.Errorf("header = %q, want %q", records[0], wantHeader)
			}
		})
	}
}
