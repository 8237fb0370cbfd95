package reports

// EscapeCSVRow is the report export's formula escaping, for other CSV
// exports: it defuses, in place, every cell a spreadsheet would evaluate.
func EscapeCSVRow(row []string) []string { return escapeRow(row) }
