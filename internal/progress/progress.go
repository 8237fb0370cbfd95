// Package progress shows how far a long command has got: a bar redrawn in
// place on a terminal, and plain lines elsewhere (logs, CI), where
// carriage returns would pile up into one unreadable line.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// width is the bar's length in characters.
const width = 30

// Bar reports progress to w as "<name>: done/total <unit>" lines, or as a
// bar when w is a terminal.
type Bar struct {
	w          io.Writer
	name, unit string
	terminal   bool
	shown      bool
}

// New returns a Bar writing to w.
func New(w io.Writer, name, unit string) *Bar {
	b := &Bar{w: w, name: name, unit: unit}
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			b.terminal = true
		}
	}
	return b
}

// Show reports done of total; a total not yet known (0) shows as done.
func (b *Bar) Show(done, total int) {
	if total <= 0 {
		total = done
	}
	if !b.terminal {
		fmt.Fprintf(b.w, "%s: %d/%d %s\n", b.name, done, total, b.unit)
		return
	}
	filled := width
	if total > 0 {
		filled = min(width*done/total, width)
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, b.unit)
	b.shown = true
}

// Done ends the bar's line, so what is printed next starts on its own.
func (b *Bar) Done() {
	if b.shown {
		fmt.Fprintln(b.w)
	}
}
