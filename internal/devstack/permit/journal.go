package permit

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

// stateFile is the log of writes inside Config.DataDir: JSON lines, one
// per acknowledged write, each a list of changes. The first line names the
// environment. It is rewritten from the live state (compacted) at start-up
// and whenever it has grown to compactFactor times what it held then.
const stateFile = "permit-standin.jsonl"

// legacyFile is the whole-file state older stand-ins rewrote on every
// write; when there is no log yet it is read once, then removed.
const legacyFile = "permit-standin.json"

const (
	compactFactor = 4
	compactMin    = 1 << 20 // bytes
)

type logLine struct {
	Changes []change `json:"changes"`
}

// journal appends writes to the log. Each line reaches the kernel
// (write(2)) before the HTTP reply, so a killed process keeps every write
// it acknowledged; no fsync, as only the machine going down loses data.
type journal struct {
	dir  string
	f    *os.File
	size int64 // bytes in the log
	live int64 // bytes the last compaction wrote
	// minSize is the size below which the log is never compacted.
	minSize int64
}

// openJournal loads the state from dir: from the log, or else from the
// legacy file, or else fresh from seed. It then compacts the log.
func openJournal(dir string, seed func() *state) (*journal, *state, error) {
	j := &journal{dir: dir, minSize: compactMin}
	st, err := j.replay()
	if err != nil {
		return nil, nil, err
	}
	migrated := false
	if st == nil {
		if st, err = loadLegacy(dir); err != nil {
			return nil, nil, err
		}
		migrated = st != nil
	}
	if st == nil {
		st = seed()
	}
	if err := j.compact(st); err != nil {
		return nil, nil, err
	}
	if migrated {
		if err := os.Remove(filepath.Join(dir, legacyFile)); err != nil {
			return nil, nil, fmt.Errorf("remove %s after migrating it: %w", legacyFile, err)
		}
	}
	return j, st, nil
}

// replay rebuilds the state from the log; (nil, nil) means there is none.
// A last line without its newline is a write cut short by a crash, never
// acknowledged, and is dropped; any other bad line is an error.
func (j *journal) replay() (*state, error) {
	path := filepath.Join(j.dir, stateFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	defer f.Close()
	st := emptyState()
	r := bufio.NewReaderSize(f, 1<<16)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if n == 1 {
				return nil, fmt.Errorf("decode %s: no environment line", stateFile)
			}
			return st, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("decode %s line %d: %w", stateFile, n, err)
		}
		if n == 1 && (len(l.Changes) == 0 || l.Changes[0].Op != opEnv) {
			return nil, fmt.Errorf("decode %s: no environment line", stateFile)
		}
		for _, c := range l.Changes {
			if err := st.apply(c); err != nil {
				return nil, fmt.Errorf("decode %s line %d: %w", stateFile, n, err)
			}
		}
	}
}

func loadLegacy(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, legacyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var old legacyState
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, fmt.Errorf("decode %s: %w", legacyFile, err)
	}
	if old.Version != 1 {
		return nil, fmt.Errorf("decode %s: unsupported version %d", legacyFile, old.Version)
	}
	st := emptyState()
	st.OrgID, st.ProjectID, st.EnvID = old.OrgID, old.ProjectID, old.EnvID
	st.Resources, st.Roles = nonNil(old.Resources), nonNil(old.Roles)
	for _, u := range old.Users {
		st.setUser(u)
	}
	for _, t := range old.Tenants {
		st.setTenant(t)
	}
	for _, a := range old.Assignments {
		st.addAssignment(a)
	}
	return st, nil
}

// append writes one acknowledged write's changes as a line.
func (j *journal) append(changes []change) error {
	line, err := json.Marshal(logLine{changes})
	if err != nil {
		return fmt.Errorf("encode write: %w", err)
	}
	line = append(line, '\n')
	n, err := j.f.Write(line)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("append to %s: %w", stateFile, err)
	}
	return nil
}

// due reports whether the log has grown enough to be compacted.
func (j *journal) due() bool {
	return j.size > j.minSize && j.size > compactFactor*j.live
}

// compact writes the live state as a fresh log (temp file + rename, so a
// crash leaves the old log or the new one, never half of one) and appends
// to it from then on.
func (j *journal) compact(st *state) error {
	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(j.dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	w := bufio.NewWriterSize(tmp, 1<<16)
	var size int64
	emit := func(cs ...change) error {
		line, err := json.Marshal(logLine{cs})
		if err != nil {
			return err
		}
		line = append(line, '\n')
		size += int64(len(line))
		_, err = w.Write(line)
		return err
	}
	err = st.dump(emit)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("compact state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	path := filepath.Join(j.dir, stateFile)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", stateFile, err)
	}
	if j.f != nil {
		_ = j.f.Close()
	}
	j.f, j.size, j.live = f, size, size
	return nil
}

// dump emits the live state as changes that rebuild it, environment first.
func (st *state) dump(emit func(...change) error) error {
	env := &envIDs{Version: logVersion, OrgID: st.OrgID, ProjectID: st.ProjectID, EnvID: st.EnvID}
	if err := emit(change{Op: opEnv, Env: env}, change{Op: opSchema, Schema: &schemaRecs{st.Resources, st.Roles}}); err != nil {
		return err
	}
	for _, t := range st.Tenants {
		if err := emit(change{Op: opTenant, Tenant: t}); err != nil {
			return err
		}
	}
	for _, u := range st.Users {
		if err := emit(change{Op: opUser, User: u}); err != nil {
			return err
		}
	}
	for _, a := range st.sortedAssignments() {
		if err := emit(change{Op: opAssign, Assignment: a}); err != nil {
			return err
		}
	}
	return nil
}

func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
