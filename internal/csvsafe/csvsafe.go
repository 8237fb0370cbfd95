// Package csvsafe makes CSV exports safe to open in a spreadsheet. It is
// its own package because every export (the report, the audit trail) needs
// it and none of them should depend on another for it.
package csvsafe

import "strings"

// Row defuses CSV injection (OWASP), in place, for every CSV export: a
// spreadsheet evaluates a cell starting with = + - @ (or tab, CR) as a
// formula, and role names come from Permit, where anyone with admin access
// there can pick them. A leading single quote makes the cell plain text.
// encoding/csv does the quoting.
func Row(row []string) []string {
	for i, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			row[i] = "'" + cell
		}
	}
	return row
}
