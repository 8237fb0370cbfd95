-- A delivery dated more than a few minutes ahead of our clock is recorded
-- with outcome 'future' and not acted on: applied, it would set the profile
-- clock so far ahead that every later update looked older and was ignored.
-- SQLite cannot change a CHECK constraint in place, so both tables are
-- rebuilt with the new one.
CREATE TABLE webhook_events_new (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_hash    TEXT NOT NULL UNIQUE,
	event            TEXT NOT NULL,
	user_id          TEXT NOT NULL DEFAULT '',
	outcome          TEXT NOT NULL
		CHECK (outcome IN ('accepted', 'ignored', 'test', 'stale', 'future', 'duplicate')),
	received_at      INTEGER NOT NULL,
	event_created_at INTEGER NOT NULL,
	job_id           INTEGER,
	payload          TEXT NOT NULL DEFAULT ''
);
INSERT INTO webhook_events_new (id, delivery_hash, event, user_id, outcome, received_at, event_created_at, job_id, payload)
	SELECT id, delivery_hash, event, user_id, outcome, received_at, event_created_at, job_id, payload FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_user ON webhook_events (user_id);

CREATE TABLE webhook_counts_new (
	day  INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('accepted', 'ignored', 'test', 'stale', 'future', 'duplicate',
		'rejected_signature', 'malformed')),
	n    INTEGER NOT NULL,
	PRIMARY KEY (day, kind)
);
INSERT INTO webhook_counts_new (day, kind, n) SELECT day, kind, n FROM webhook_counts;
DROP TABLE webhook_counts;
ALTER TABLE webhook_counts_new RENAME TO webhook_counts;
