package databasetest

import (
	"runtime"
	"testing"
)

// recorder stands in for testing.TB to observe Skipf/Fatalf, which end the
// calling goroutine as the real ones do.
type recorder struct {
	testing.TB
	outcome string
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.outcome = "skip"; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.outcome = "fail"; runtime.Goexit() }
func (r *recorder) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
}

func TestPostgresURLSkipsLocallyButFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"local, no URL", map[string]string{}, "skip"},
		{"CI, no URL", map[string]string{"CI": "true"}, "fail"},
		{"CI with URL", map[string]string{"CI": "true", PostgresURLEnv: "postgres://db/test"}, "postgres://db/test"},
		{"local with URL", map[string]string{PostgresURLEnv: "postgres://db/test"}, "postgres://db/test"},
	} {
		r := &recorder{}
		r.run(func(tb testing.TB) {
			r.outcome = postgresURL(tb, func(k string) string { return tc.env[k] })
		})
		if r.outcome != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, r.outcome, tc.want)
		}
	}
}
