-- Local records of the people who signed in, keyed by their Logto id.
-- Times are Unix epoch milliseconds (UTC), as in 0001_sessions.
-- registered_at is Logto's created_at when known (registered_at_known = 1),
-- else the first time we saw the person; it is never NULL so listings and
-- the sign-up aggregate need no COALESCE.
-- roles is the last role snapshot as a JSON array of role keys, sorted.
CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	email               TEXT NOT NULL DEFAULT '',
	name                TEXT NOT NULL DEFAULT '',
	registered_at       BIGINT NOT NULL,
	registered_at_known SMALLINT NOT NULL DEFAULT 0,
	first_seen_at       BIGINT NOT NULL,
	roles               TEXT NOT NULL DEFAULT '[]',
	roles_checked_at    BIGINT NOT NULL DEFAULT 0,
	updated_at          BIGINT NOT NULL
);
CREATE INDEX users_registered_at ON users (registered_at, id);

-- Sign-ups per UTC day (days since 1970-01-01) and role bucket ('' = no
-- role), kept in step with users inside the same transaction as every
-- change to it, so reports read a handful of rows instead of scanning
-- users. Rows whose count drops to zero are deleted.
CREATE TABLE signup_days (
	day   INTEGER NOT NULL,
	role  TEXT NOT NULL,
	count BIGINT NOT NULL,
	PRIMARY KEY (day, role)
);
