package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// JobStates counts the sync jobs by River state, but only when this
// replica is River's leader right now (leader is false and the map nil
// otherwise). Exported by one replica at a time, the figures can be summed
// over replicas without counting the shared queue twice. River's client
// does not expose leadership, so its river_leader row is read: it names
// the leading client's id.
func (s *Service) JobStates(ctx context.Context) (byState map[string]int64, leader bool, err error) {
	var leaderID string
	err = s.db.QueryRowContext(ctx, `SELECT leader_id FROM river_leader`).Scan(&leaderID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("job states: leader: %w", err)
	}
	if leaderID != s.river.ID() {
		return nil, false, nil
	}
	byState = map[string]int64{}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job WHERE kind = $1 GROUP BY state`, jobKind)
	if err != nil {
		return nil, false, fmt.Errorf("job states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, false, fmt.Errorf("job states: %w", err)
		}
		byState[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("job states: %w", err)
	}
	return byState, true, nil
}
