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
	"sync"
)

const (
	// Factor is how many times its live size the log may grow to.
	Factor = 4
	// defaultMinSize is the size below which a log is never compacted
	// (SetMinSize changes it).
	defaultMinSize = 1 << 20
)

// Log is one log file. It is safe for concurrent use, but callers append
// under their own lock anyway, so lines follow the order of their writes.
type Log struct {
	dir, name string

	mu      sync.Mutex
	f       *os.File
	size    int64 // bytes in the file
	live    int64 // bytes the last compaction wrote
	minSize int64
	// While a background compaction runs, appended lines also go to tail,
	// to be added to the new file before it replaces the old one.
	compacting bool
	tail       []byte
	done       chan struct{} // closed when the background compaction ends
}

// New names the log dir/name; it touches no file.
func New(dir, name string) *Log {
	return &Log{dir: dir, name: name, minSize: defaultMinSize}
}

// SetMinSize changes the size below which the log is never compacted.
func (l *Log) SetMinSize(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.minSize = n
}

// Size is the log's size in bytes.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

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
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode write: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("append to %s: the log is not open", l.name)
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("append to %s: %w", l.name, err)
	}
	if l.compacting {
		l.tail = append(l.tail, line...)
	}
	return nil
}

// Due reports whether the log has grown enough to be compacted and no
// compaction is under way.
func (l *Log) Due() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.compacting && l.size > l.minSize && l.size > Factor*l.live
}

// Compact replaces the log with the lines write emits (temp file + rename,
// so a crash leaves the old log or the new one, never half of one) and
// appends to the new one from then on. It is meant for start-up; the
// caller must not append meanwhile.
func (l *Log) Compact(write func(emit func(v any) error) error) error {
	tmp, size, err := l.writeTemp(write)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.swap(tmp, size)
}

// CompactInBackground is Compact without holding up writes: write runs on
// its own goroutine, so it must read only data that no later write
// changes (the caller captures it under its lock). Lines appended
// meanwhile go to the old log and are copied to the new one before it
// takes over. A failure goes to onError and leaves the old log in use.
func (l *Log) CompactInBackground(write func(emit func(v any) error) error, onError func(error)) {
	l.mu.Lock()
	l.compacting, l.tail, l.done = true, nil, make(chan struct{})
	done := l.done
	l.mu.Unlock()
	go func() {
		defer close(done)
		tmp, size, err := l.writeTemp(write)
		l.mu.Lock()
		defer l.mu.Unlock()
		tail := l.tail
		l.compacting, l.tail = false, nil
		if err == nil && l.f == nil {
			err = fmt.Errorf("compact %s: closed meanwhile", l.name)
		}
		if err == nil {
			err = appendTo(tmp, tail)
		}
		if err == nil {
			err = l.swap(tmp, size+int64(len(tail)))
		}
		if err != nil {
			os.Remove(tmp)
			onError(err)
		}
	}()
}

// Wait blocks until a background compaction, if any, has ended.
func (l *Log) Wait() {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done != nil {
		<-done
	}
}

// writeTemp writes what write emits to a new temp file next to the log.
func (l *Log) writeTemp(write func(emit func(v any) error) error) (string, int64, error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(l.dir, l.name+".*")
	if err != nil {
		return "", 0, fmt.Errorf("compact %s: %w", l.name, err)
	}
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
	if err != nil {
		os.Remove(tmp.Name())
		return "", 0, fmt.Errorf("compact %s: %w", l.name, err)
	}
	return tmp.Name(), size, nil
}

func appendTo(path string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// swap makes the temp file the log (l.mu held).
func (l *Log) swap(tmp string, size int64) error {
	if err := os.Rename(tmp, l.path()); err != nil {
		os.Remove(tmp)
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

// Close waits for a background compaction and closes the file; a closed
// log takes no more appends.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
