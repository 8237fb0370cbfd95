package people

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// roleRank places the well-known roles first, in descending privilege, then
// any other key, then "" (no role).
func roleRank(role string) int {
	switch role {
	case "admin":
		return 0
	case "analyst":
		return 1
	case "viewer":
		return 2
	case "":
		return 4
	default:
		return 3
	}
}

// CompareRoles orders role keys by precedence for display and bucketing:
// admin, analyst, viewer, then any other key alphabetically, then "" (no
// role) last. It suits slices.SortFunc.
func CompareRoles(a, b string) int {
	if ra, rb := roleRank(a), roleRank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// Bucket is the single role a person is counted under in the sign-up
// aggregate: the highest-precedence role of the snapshot (see CompareRoles),
// or "" when the snapshot is empty. One bucket per person keeps the daily
// role split summing to the daily total.
func Bucket(roles []string) string {
	best := ""
	for _, r := range roles {
		if r != "" && (best == "" || CompareRoles(r, best) < 0) {
			best = r
		}
	}
	return best
}

// normalizeRoles sorts and de-duplicates a snapshot and drops empty keys, so
// equal snapshots compare equal and SetRoles can skip no-op writes. An empty
// snapshot is nil.
func normalizeRoles(roles []string) []string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if r != "" {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// encodeRoles renders a normalized snapshot as a JSON array; a nil slice is
// "[]" rather than JSON null so the column always holds an array.
func encodeRoles(roles []string) string {
	if len(roles) == 0 {
		return "[]"
	}
	b, err := json.Marshal(roles)
	if err != nil {
		// Marshalling a []string cannot fail.
		panic(fmt.Sprintf("encode roles: %v", err))
	}
	return string(b)
}

func decodeRoles(s string) ([]string, error) {
	var roles []string
	if err := json.Unmarshal([]byte(s), &roles); err != nil {
		return nil, fmt.Errorf("decode roles %q: %w", s, err)
	}
	return normalizeRoles(roles), nil
}
