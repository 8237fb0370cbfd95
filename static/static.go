// Package static holds the product's CSS and images, embedded into the
// binary and served under content-hashed URLs so browsers may cache them
// for a year.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed *.css *.svg *.js
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// Assets maps logical asset names (e.g. "app.css") to content-hashed URLs
// and serves them.
type Assets struct {
	urls  map[string]string // logical name → /static/name.<hash>.ext
	files map[string]asset  // hashed file name → the file
}

type asset struct {
	name string // logical name
	data []byte
}

// New reads and hashes every embedded file once.
func New() *Assets {
	a := &Assets{urls: map[string]string{}, files: map[string]asset{}}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		a.urls[e.Name()] = Prefix + hashed
		a.files[hashed] = asset{name: e.Name(), data: data}
	}
	return a
}

// URL returns the cache-busting URL for a logical asset name, or "" when
// there is no such asset.
func (a *Assets) URL(name string) string { return a.urls[name] }

// ServeHTTP serves a hashed asset with a long, immutable cache lifetime;
// unknown or stale hashes get 404 so a cache never pins wrong content.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[strings.TrimPrefix(r.URL.Path, Prefix)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.data))
}
