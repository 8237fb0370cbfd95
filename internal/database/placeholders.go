package database

import (
	"strconv"
	"strings"
)

// Placeholders is "$from, $from+1, …" with n parameters, for an IN list;
// both engines take $n parameters.
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}
