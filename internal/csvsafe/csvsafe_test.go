package csvsafe

import (
	"slices"
	"testing"
)

func TestRowDefusesFormulas(t *testing.T) {
	t.Parallel()
	got := Row([]string{"=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx", "viewer", "", "a=b"})
	want := []string{"'=SUM(A1)", "'+1", "'-1", "'@cmd", "'\tx", "'\rx", "viewer", "", "a=b"}
	if !slices.Equal(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
}
