package handlers

import "net/http"

// patternRecorder is a router that keeps the patterns registered on it.
type patternRecorder struct{ patterns []string }

func (p *patternRecorder) Handle(pattern string, _ http.Handler) {
	p.patterns = append(p.patterns, pattern)
}

// Patterns are the route patterns the app built from d registers.
func Patterns(d Deps) []string {
	rec := &patternRecorder{}
	pages := &pageRenderer{assets: d.Assets, logger: d.Logger}
	addRoutes(rec, d, pages, &signedIn{auth: d.Auth, sessions: d.Sessions, pages: pages})
	return rec.patterns
}
