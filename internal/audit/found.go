package audit

import "slices"

// FoundChanged are the entries for roles that a refresh of the role
// snapshot found granted or removed in Permit since the last snapshot: a
// change made outside reportgate (in Permit's console, by another tool).
// before and after are sorted role keys; where says what noticed it.
func FoundChanged(subjectID, subjectName string, before, after []string, where string) []Entry {
	var out []Entry
	for _, r := range after {
		if !slices.Contains(before, r) {
			out = append(out, Entry{ActorID: ActorSystem, Action: RoleGranted, SubjectID: subjectID,
				SubjectName: subjectName, Role: r, Detail: "found granted in Permit " + where})
		}
	}
	for _, r := range before {
		if !slices.Contains(after, r) {
			out = append(out, Entry{ActorID: ActorSystem, Action: RoleRemoved, SubjectID: subjectID,
				SubjectName: subjectName, Role: r, Detail: "found removed in Permit " + where})
		}
	}
	return out
}
