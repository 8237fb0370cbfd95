-- A delivery dated more than a few minutes ahead of our clock is recorded
-- with outcome 'future' and not acted on: applied, it would set the profile
-- clock so far ahead that every later update looked older and was ignored.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_outcome_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_outcome_check
	CHECK (outcome IN ('accepted', 'ignored', 'test', 'stale', 'future', 'duplicate'));
ALTER TABLE webhook_counts DROP CONSTRAINT webhook_counts_kind_check;
ALTER TABLE webhook_counts ADD CONSTRAINT webhook_counts_kind_check
	CHECK (kind IN ('accepted', 'ignored', 'test', 'stale', 'future', 'duplicate',
		'rejected_signature', 'malformed'));
