package database

import "context"

// OpenMigrated opens url with the app's migrations applied, then runs
// also (the job queue's migrations, which live with the queue) in order.
// The database is closed again when any of them fails.
func OpenMigrated(ctx context.Context, url string, also ...func(context.Context, *DB) error) (*DB, error) {
	db, err := Open(ctx, url)
	if err != nil {
		return nil, err
	}
	err = db.Migrate(ctx)
	for _, migrate := range also {
		if err != nil {
			break
		}
		err = migrate(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
