package permit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"reportgate/internal/devstack/jsonlog"
)

// stateFile is the log of writes inside Config.DataDir (see jsonlog): one
// line per acknowledged write, each a list of changes. The first line
// names the environment.
const stateFile = "permit-standin.jsonl"

// legacyFile is the whole-file state older stand-ins rewrote on every
// write; when there is no log yet it is read once, then removed.
const legacyFile = "permit-standin.json"

type logLine struct {
	Changes []change `json:"changes"`
}

// openJournal loads the state from dir: from the log, or else from the
// legacy file, or else fresh from seed. It then compacts the log.
func openJournal(dir string, seed *state) (*jsonlog.Log, *state, error) {
	log := jsonlog.New(dir, stateFile)
	st, err := replay(log)
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
		st = seed
	}
	if err := log.Compact(st.freeze()); err != nil {
		return nil, nil, err
	}
	if migrated {
		if err := os.Remove(filepath.Join(dir, legacyFile)); err != nil {
			return nil, nil, fmt.Errorf("remove %s after migrating it: %w", legacyFile, err)
		}
	}
	return log, st, nil
}

// replay rebuilds the state from the log; (nil, nil) means there is none.
// Its first line must name the environment.
func replay(log *jsonlog.Log) (*state, error) {
	st := emptyState()
	lines := 0
	found, err := log.Replay(func(line []byte) error {
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			return err
		}
		lines++
		if lines == 1 && (len(l.Changes) == 0 || l.Changes[0].Op != opEnv) {
			return errors.New("no environment line")
		}
		for _, c := range l.Changes {
			if err := st.apply(c); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("decode state: %w", err)
	case !found:
		return nil, nil
	case lines == 0:
		return nil, fmt.Errorf("decode state: %s has no environment line", stateFile)
	}
	return st, nil
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

// freeze captures the live state and returns a dump of it (lines of
// changes that rebuild it, environment first) that stays right while
// later writes go on, so it can run without the lock: users, tenants and
// assignments are replaced on change, never changed in place, so holding
// the records is enough; the schema, which is changed in place, is copied.
func (st *state) freeze() func(emit func(any) error) error {
	env := &envIDs{Version: logVersion, OrgID: st.OrgID, ProjectID: st.ProjectID, EnvID: st.EnvID}
	schema := st.copySchema()
	tenants := slices.Collect(maps.Values(st.Tenants))
	users := slices.Collect(maps.Values(st.Users))
	assignments := st.sortedAssignments()
	return func(emit func(any) error) error {
		if err := emit(logLine{[]change{{Op: opEnv, Env: env}, {Op: opSchema, Schema: &schema}}}); err != nil {
			return err
		}
		var err error
		one := func(c change) {
			if err == nil {
				err = emit(logLine{[]change{c}})
			}
		}
		for _, t := range tenants {
			one(change{Op: opTenant, Tenant: t})
		}
		for _, u := range users {
			one(change{Op: opUser, User: u})
		}
		for _, a := range assignments {
			one(change{Op: opAssign, Assignment: a})
		}
		return err
	}
}
