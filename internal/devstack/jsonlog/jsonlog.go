// Package jsonlog is the append-only log the stand-ins keep their state
// in: JSON lines, one per acknowledged write, rewritten from the live
// state (compacted) at start-up and whenever it has grown to Factor times
// what the last rewrite wrote.
//
// Each Append reaches the kernel (write(2)) before it returns, so a killed
// process keeps every write it acknowledged; there is no fsync, as only
// the machine going down loses data, which is fine for a stand-in.
package jsonlog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	// Factor is how many times its live size the log may grow to.
	Factor = 4
	// DefaultMinSize is the size below which a log is never compacted.
	DefaultMinSize = 1 << 20
)

// Log is one log file. It is not safe for concurrent use.
type Log struct {
	dir, name string
	f         *os.File
	size      int64 // bytes in the file
	live      int64 // bytes the last Compact wrote
	minSize   int64
}

// New names the log dir/name; it touches no file.
func New(dir, name string) *Log {
	return &Log{dir: dir, name: name, minSize: DefaultMinSize}
}

// SetMinSize changes the size below which the log is never compacted.
func (l *Log) SetMinSize(n int64) { l.minSize = n }

// Size is the log's size in bytes.
func (l *Log) Size() int64 { return l.size }

func (l *Log) path() string { return filepath.Join(l.dir, l.name) }

// Replay calls apply with each line of the log, in order, and reports
// whether there was a log. A last line without its newline is a write cut
// short by a crash, never acknowledged, and is dropped; any other line
// apply refuses is an error.
func (l *Log) Replay(apply func(line []byte) error) (bool, error) {
	f, err := os.Open(l.path())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", l.name, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", l.name, err)
		}
		if err := apply(line); err != nil {
			return false, fmt.Errorf("%s line %d: %w", l.name, n, err)
		}
	}
}

// Append writes v as one line.
func (l *Log) Append(v any) error {
	if l.f == nil {
		return fmt.Errorf("append to %s: the log is not open", l.name)
	}
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode write: %w", err)
	}
	n, err := l.f.Write(append(line, '\n'))
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("append to %s: %w", l.name, err)
	}
	return nil
}

// Due reports whether the log has grown enough to be compacted.
func (l *Log) Due() bool {
	return l.size > l.minSize && l.size > Factor*l.live
}

// Compact replaces the log with the lines write emits (temp file + rename,
// so a crash leaves the old log or the new one, never half of one) and
// appends to the new one from then on.
func (l *Log) Compact(write func(emit func(v any) error) error) error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(l.dir, l.name+".*")
	if err != nil {
		return fmt.Errorf("compact %s: %w", l.name, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	w := bufio.NewWriterSize(tmp, 1<<16)
	var size int64
	err = write(func(v any) error {
		line, err := json.Marshal(v)
		if err != nil {
			return err
		}
		n, err := w.Write(append(line, '\n'))
		size += int64(n)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), l.path())
	}
	if err != nil {
		return fmt.Errorf("compact %s: %w", l.name, err)
	}
	f, err := os.OpenFile(l.path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", l.name, err)
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	l.f, l.size, l.live = f, size, size
	return nil
}

// Close closes the file; a closed log takes no more appends.
func (l *Log) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
