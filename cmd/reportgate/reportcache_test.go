package main

import (
	"strconv"
	"testing"
)

// TestNewSignUpShowsInTheCachedReportAtOnce: the report is cached for 30 s,
// yet a person who signs up counts on the next view of it.
func TestNewSignUpShowsInTheCachedReportAtOnce(t *testing.T) {
	t.Parallel()
	d := startDev(t, t.TempDir())
	analyst := newPerson(t)
	analyst.signIn(d, "analyst@example.com")
	total := func() int {
		t.Helper()
		n, err := strconv.Atoi(analyst.get(d.appURL + "/reports").TestID("report-total").Text())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := total() // now cached
	if !newPerson(t).signUp(d, "Grace Hopper", "grace@example.com").Has("user-name") {
		t.Fatal("sign-up did not finish signed in")
	}
	if after := total(); after != before+1 {
		t.Errorf("report shows %d after a sign-up, want %d at once", after, before+1)
	}
}
