package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"reportgate/internal/fault"
)

func TestWrappedKindIsFoundAndKeepsTheMessage(t *testing.T) {
	t.Parallel()
	pkgErr := fmt.Errorf("logto %w", fault.Unavailable)
	err := fmt.Errorf("discovery: %w: %v", pkgErr, errors.New("connection refused"))
	if !errors.Is(err, fault.Unavailable) || !errors.Is(err, pkgErr) {
		t.Fatalf("errors.Is lost the kind or the package error in %v", err)
	}
	if errors.Is(err, fault.NotFound) {
		t.Errorf("%v matched a kind it does not wrap", err)
	}
	if want := "discovery: logto unavailable: connection refused"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
