package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"reportgate/internal/csvsafe"
)

// noRoleColumn heads the column of people without a role. The parentheses
// keep it apart from any Permit role key.
const noRoleColumn = "(no role)"

// WriteCSV writes the report's per-day totals: a header
// "day,total,<one column per role in ByRole order>" and one row per day.
// It carries counts only, never anyone's email or name.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	header := []string{"day", "total"}
	for _, rt := range r.ByRole {
		name := rt.Role
		if name == "" {
			name = noRoleColumn
		}
		header = append(header, name)
	}
	if err := cw.Write(csvsafe.Row(header)); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, d := range r.Days {
		row := []string{d.Day.UTC().Format(time.DateOnly), strconv.Itoa(d.Total)}
		for _, rt := range r.ByRole {
			row = append(row, strconv.Itoa(d.ByRole[rt.Role]))
		}
		if err := cw.Write(csvsafe.Row(row)); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
