-- Server-side web sessions (internal/session). The cookie carries a random
-- 256-bit id and its HMAC; id here is the hex SHA-256 of that id, so a copy
-- of this table yields no live cookie. data is internal/session's own
-- binary encoding of the gorilla session values. user_id is the signed-in
-- user ('' before sign-in), for RevokeUser. Times are Unix epoch
-- milliseconds (UTC); expires_at = created_at + the absolute timeout,
-- idle expiry is computed from last_seen_at.
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL DEFAULT '',
	data         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
