package buildinfo

import (
	"strings"
	"testing"
)

func TestVersionPrefersTheStampedRelease(t *testing.T) {
	if got := Version("v1.2.3"); !strings.HasPrefix(got, "v1.2.3") {
		t.Errorf("Version = %q", got)
	}
	// A test binary has no VCS information: it says it is a devel build.
	if got := Version(""); !strings.HasPrefix(got, "devel") {
		t.Errorf("Version = %q", got)
	}
}
