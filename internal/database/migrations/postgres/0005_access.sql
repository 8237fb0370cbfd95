-- The audit trail and access requests (internal/audit, internal/access).
-- Times are Unix epoch milliseconds (UTC).

-- Append-only: the only changes ever made to a row are its deletion after
-- the retention period and the erasure of personal data when the person is
-- deleted. actor_id is a Logto user id, or 'system' or 'cli'.
CREATE TABLE audit_entries (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at           BIGINT NOT NULL,
	actor_id     TEXT NOT NULL,
	actor_name   TEXT NOT NULL DEFAULT '',
	action       TEXT NOT NULL,
	subject_id   TEXT NOT NULL DEFAULT '',
	subject_name TEXT NOT NULL DEFAULT '',
	role         TEXT NOT NULL DEFAULT '',
	permission   TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '',
	request_id   BIGINT
);
CREATE INDEX audit_entries_at ON audit_entries (at);
CREATE INDEX audit_entries_subject ON audit_entries (subject_id);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id);

-- state: open | approving (claimed by an admin; the grant job is queued) |
-- approved | declined | withdrawn | failed (the grant job gave up).
-- At most one open request per person and permission.
CREATE TABLE access_requests (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id      TEXT NOT NULL,
	user_name    TEXT NOT NULL DEFAULT '',
	user_email   TEXT NOT NULL DEFAULT '',
	permission   TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL
		CHECK (state IN ('open', 'approving', 'approved', 'declined', 'withdrawn', 'failed')),
	role         TEXT NOT NULL DEFAULT '',
	note         TEXT NOT NULL DEFAULT '',
	decided_by   TEXT NOT NULL DEFAULT '',
	decided_by_name TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	decided_at   BIGINT
);
CREATE UNIQUE INDEX access_requests_one_open ON access_requests (user_id, permission) WHERE state = 'open';
CREATE INDEX access_requests_user ON access_requests (user_id, created_at);
CREATE INDEX access_requests_state ON access_requests (state, created_at);
