-- Provisioning of Logto users into Permit (internal/provision). Times are
-- Unix epoch milliseconds (UTC), as in 0001 and 0002. River's own tables
-- (river_job, …) are created by provision.Migrate through rivermigrate.

-- One row per Logto user we have heard of. A job brings Permit in line
-- with it; the row, not the webhook that caused the job, is the truth.
--   state: pending (a job is queued) | synced | failed (last attempt
--     failed; retrying or discarded) | deleted (removed from Permit).
--   deleted_at: tombstone. Set by User.Deleted and never cleared, so a
--     late or replayed User.Created cannot resurrect the user
--     (Logto guarantees no ordering between deliveries).
--   default_role_granted_at: set once, the first time the default role was
--     granted, and never cleared, so a role an admin later removed is not
--     restored by a replay, retry, reconcile or backfill.
--   needs_fetch: what we hold is incomplete (PostRegister without `user`,
--     User.Data.Updated with only customData/profile); the
--     job re-reads the user from the Management API.
--   generation: bumped by every change that needs a sync; a job completes
--     only if it is unchanged, otherwise it runs again.
--   profile_at / suspended_at: created_at of the event that last set
--     email/name and suspended, so an older event arriving late is ignored.
CREATE TABLE user_sync (
	user_id                 TEXT PRIMARY KEY,
	email                   TEXT NOT NULL DEFAULT '',
	name                    TEXT NOT NULL DEFAULT '',
	registered_at           INTEGER NOT NULL DEFAULT 0,
	state                   TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'synced', 'failed', 'deleted')),
	deleted_at              INTEGER,
	suspended               BOOLEAN NOT NULL DEFAULT FALSE,
	default_role_granted_at INTEGER,
	synced_at               INTEGER,
	last_error              TEXT NOT NULL DEFAULT '',
	attempts                INTEGER NOT NULL DEFAULT 0,
	needs_fetch             BOOLEAN NOT NULL DEFAULT FALSE,
	generation              INTEGER NOT NULL DEFAULT 0,
	profile_at              INTEGER NOT NULL DEFAULT 0,
	suspended_at            INTEGER NOT NULL DEFAULT 0,
	updated_at              INTEGER NOT NULL
);
CREATE INDEX user_sync_state ON user_sync (state);

-- Every verified, parsed delivery except exact duplicates. delivery_hash is
-- the hex SHA-256 of the exact body: Logto sends no delivery id
-- or event id, and a post-#9410 retry re-sends the same bytes.
-- payload is the sanitized JSON (identity details removed); it is erased
-- when the user is deleted and the row goes after the retention period.
CREATE TABLE webhook_events (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_hash    TEXT NOT NULL UNIQUE,
	event            TEXT NOT NULL,
	user_id          TEXT NOT NULL DEFAULT '',
	outcome          TEXT NOT NULL
		CHECK (outcome IN ('accepted', 'ignored', 'test', 'stale', 'duplicate')),
	received_at      INTEGER NOT NULL,
	event_created_at INTEGER NOT NULL,
	job_id           INTEGER,
	payload          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_user ON webhook_events (user_id);

-- Deliveries per UTC day (days since 1970-01-01) and kind, including the
-- ones never stored (duplicates, bad signatures, malformed bodies).
CREATE TABLE webhook_counts (
	day  INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('accepted', 'ignored', 'test', 'stale', 'duplicate',
		'rejected_signature', 'malformed')),
	n    INTEGER NOT NULL,
	PRIMARY KEY (day, kind)
);
