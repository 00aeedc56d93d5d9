-- annotrace schema 0081: GenAI log events wait for their span for a bounded time (issues 15 and 18).
-- Never edit this file once merged: a change is a new numbered file.
--
-- genai_log_events_seen had a primary key on record_id: an ART index, which DuckDB holds in memory
-- and never evicts, on a table that kept one row per GenAI record forever, as genai_log_events_pending
-- kept every record whose span never came. Both now keep a record for the duckdb exporter's
-- genai_log_events_max_age after it was stored (store/genai_expiry.py). genai_log_events_seen has
-- no key and carries each record's event time: the join finds a batch's records among the seen ones
-- by that time (a retried record is the same bytes, so the same time; rows are written in about time
-- order, so the range skips every other row group, or DuckLake file). DuckDB cannot drop a primary
-- key, so the table is rebuilt (migrate.py). A seen record takes its time from its pending row, else
-- from its log_records row (to the microsecond), else 0; rows from before the upgrade count their
-- age from the upgrade.

CREATE TABLE genai_log_events_seen_rebuilt (
    record_id VARCHAR NOT NULL,
    time_unix_nano BIGINT NOT NULL,
    seen_time TIMESTAMP NOT NULL
);
INSERT INTO genai_log_events_seen_rebuilt
SELECT s.record_id,
       coalesce(p.time_unix_nano, epoch_ns(l.time), epoch_ns(l.observed_time), 0) AS time_unix_nano,
       current_timestamp::TIMESTAMP AS seen_time
FROM genai_log_events_seen s
LEFT JOIN genai_log_events_pending p ON p.record_id = s.record_id
LEFT JOIN log_records l ON l.record_id = s.record_id
ORDER BY time_unix_nano;
DROP TABLE genai_log_events_seen;
ALTER TABLE genai_log_events_seen_rebuilt RENAME TO genai_log_events_seen;
COMMENT ON TABLE genai_log_events_seen IS 'The GenAI event log records considered for the message join in the last genai_log_events_max_age (a duckdb exporter setting), so a retried log export is never joined twice; older rows are pruned.';
COMMENT ON COLUMN genai_log_events_seen.record_id IS 'log_records.record_id of the event.';
COMMENT ON COLUMN genai_log_events_seen.time_unix_nano IS 'Event time in ns (time, else observed time, as genai_log_events_pending.time_unix_nano): a retried record is looked up by it.';
COMMENT ON COLUMN genai_log_events_seen.seen_time IS 'When the record was first stored (UTC): the row is pruned genai_log_events_max_age later.';

ALTER TABLE genai_log_events_pending ADD COLUMN stored_time TIMESTAMP;
UPDATE genai_log_events_pending SET stored_time = current_timestamp::TIMESTAMP;
COMMENT ON TABLE genai_log_events_pending IS 'GenAI event log records whose span has not been stored yet; a row is removed when its span arrives and its messages are written, or genai_log_events_max_age after stored_time (the record stays in log_records).';
COMMENT ON COLUMN genai_log_events_pending.stored_time IS 'When the record was stored (UTC): it waits for its span until genai_log_events_max_age (a duckdb exporter setting) after this.';
