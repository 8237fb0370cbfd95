package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"reportgate/internal/logtoapi"
	"reportgate/internal/permitdir"
)

// syncUser writes the user's email and name to Permit. Permit keeps an
// email unique, so a person who registers again with the email of an old
// account whose deletion never reached Permit is refused. When the Permit
// user holding the email is no longer a person (tombstoned here, or gone
// from Logto) it is deleted and the sync goes on; when it is a live person
// the job is cancelled, since retrying cannot help and reportgate never
// changes a live person's Permit user. It returns the job's result: nil,
// or an error already recorded by fail.
func (s *Service) syncUser(ctx context.Context, job *river.Job[syncArgs], email, name string) error {
	id := job.Args.UserID
	err := s.permit.SyncUser(ctx, id, email, name)
	var taken *permitdir.EmailTakenError
	if !errors.As(err, &taken) {
		if err != nil {
			return s.fail(ctx, job, err)
		}
		return nil
	}
	gone, who, err := s.holderGone(ctx, taken.Holder)
	if err != nil {
		return s.fail(ctx, job, fmt.Errorf("%w; could not tell whether %s is still a person: %w", taken, taken.Holder, err))
	}
	if !gone {
		return river.JobCancel(s.fail(ctx, job, fmt.Errorf(
			"the email %s belongs to Permit user %s, who %s. reportgate never changes another person's Permit user, so this sync stopped. "+
				"To fix it, give one of the two people another email in Logto, or delete Permit user %s if it is left over, then retry this job",
			taken.Email, taken.Holder, who, taken.Holder)))
	}
	if err := s.permit.DeleteUser(ctx, taken.Holder); err != nil {
		return s.fail(ctx, job, fmt.Errorf("free %s from Permit user %s, who %s: %w", taken.Email, taken.Holder, who, err))
	}
	s.log.InfoContext(ctx, "provision: deleted the Permit user of a former person that held the email",
		"user", id, "holder", taken.Holder, "holder_is", who)
	if err := s.permit.SyncUser(ctx, id, email, name); err != nil {
		return s.fail(ctx, job, err)
	}
	return nil
}

// holderGone reports whether the Permit user holder is no longer a person:
// tombstoned here (its deletion may never have reached Permit), or unknown
// to Logto. who says which, in words for the admin page. Without access to
// Logto's Management API a holder not tombstoned here counts as a person.
func (s *Service) holderGone(ctx context.Context, holder string) (gone bool, who string, err error) {
	var deleted sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT deleted_at FROM user_sync WHERE user_id = $1`, holder).Scan(&deleted)
	switch {
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, "", fmt.Errorf("load %s: %w", holder, err)
	case deleted.Valid:
		return true, "was deleted in Logto", nil
	case s.logto == nil:
		return false, "may still be a person (reportgate has no Logto Management API access to check)", nil
	}
	_, err = s.logto.GetUser(ctx, holder)
	switch {
	case errors.Is(err, logtoapi.ErrNotFound):
		return true, "no longer exists in Logto", nil
	case err != nil:
		return false, "", fmt.Errorf("ask logto: %w", err)
	}
	return false, "is still a person in Logto", nil
}
