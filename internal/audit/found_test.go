package audit

import "testing"

func TestFoundChanged(t *testing.T) {
	t.Parallel()
	got := FoundChanged("u1", "Ana", []string{"analyst", "viewer"}, []string{"admin", "viewer"}, "at sign-in")
	if len(got) != 2 {
		t.Fatalf("entries = %+v, want one grant and one removal", got)
	}
	if g := got[0]; g.Action != RoleGranted || g.Role != "admin" || g.ActorID != ActorSystem || g.SubjectID != "u1" ||
		g.SubjectName != "Ana" || g.Detail != "found granted in Permit at sign-in" {
		t.Errorf("grant = %+v", g)
	}
	if r := got[1]; r.Action != RoleRemoved || r.Role != "analyst" || r.Detail != "found removed in Permit at sign-in" {
		t.Errorf("removal = %+v", r)
	}
	if same := FoundChanged("u1", "Ana", []string{"viewer"}, []string{"viewer"}, "at sign-in"); len(same) != 0 {
		t.Errorf("unchanged roles gave %+v", same)
	}
}
