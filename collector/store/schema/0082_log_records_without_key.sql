-- annotrace schema 0082: log_records without a primary key, de-duplicated by record_key instead (issue 18).
-- Never edit this file once merged: a change is a new numbered file.
--
-- The primary key on record_id was an ART index, which DuckDB holds in memory and never evicts
-- (~75-96 bytes per row), so the collector's memory grew with the stored log records, as it did
-- with traces before schema 0080. The writer now finds the stored copies of a batch's records (a
-- retried export, a spool replay) by record_key, the last 16 hex digits of the record's content
-- hash as one fixed-width column, and checks its matches on record_id (store/span_writes.py), in
-- its own transaction, so a retry, a replay or a kill -9 still leaves one row per record. DuckDB
-- cannot drop a primary key, so the table is rebuilt (migrate.py), with every comment.

CREATE TABLE log_records_rebuilt (
    record_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    time TIMESTAMP,
    observed_time TIMESTAMP,
    trace_id VARCHAR,
    span_id VARCHAR,
    severity_number INTEGER,
    severity_text VARCHAR,
    event_name VARCHAR,
    body JSON USING COMPRESSION zstd,
    attributes JSON USING COMPRESSION zstd NOT NULL,
    resource_attributes JSON USING COMPRESSION zstd NOT NULL,
    scope_name VARCHAR,
    record_key UBIGINT NOT NULL
);
INSERT INTO log_records_rebuilt BY NAME
SELECT *, coalesce(try_cast('0x' || right(record_id, 16) AS UBIGINT), 0) AS record_key FROM log_records
ORDER BY coalesce(time, observed_time);
DROP TABLE log_records;
ALTER TABLE log_records_rebuilt RENAME TO log_records;
COMMENT ON TABLE log_records IS 'OTLP log records and events (LogsService, /v1/logs). GenAI events are also joined to their spans by (trace_id, span_id).';
COMMENT ON COLUMN log_records.record_id IS 'Content hash of the record: a retried export does not duplicate it.';
COMMENT ON COLUMN log_records.experiment_id IS 'Experiment the record was routed to.';
COMMENT ON COLUMN log_records.time IS 'time_unix_nano as a timestamp (UTC); NULL when unset.';
COMMENT ON COLUMN log_records.observed_time IS 'observed_time_unix_nano as a timestamp (UTC).';
COMMENT ON COLUMN log_records.trace_id IS 'Trace id the record belongs to (tr-...), if any.';
COMMENT ON COLUMN log_records.span_id IS 'Span id the record belongs to, if any.';
COMMENT ON COLUMN log_records.severity_number IS 'OTel severity number (0-24).';
COMMENT ON COLUMN log_records.severity_text IS 'Severity text.';
COMMENT ON COLUMN log_records.event_name IS 'Event name (LogRecord.event_name, or the legacy event.name attribute).';
COMMENT ON COLUMN log_records.body IS 'Body (AnyValue as JSON).';
COMMENT ON COLUMN log_records.attributes IS 'Record attributes as a JSON object.';
COMMENT ON COLUMN log_records.resource_attributes IS 'Resource attributes as a JSON object.';
COMMENT ON COLUMN log_records.scope_name IS 'Instrumentation scope name.';
COMMENT ON COLUMN log_records.record_key IS 'The last 16 hex digits of record_id as an unsigned 64-bit integer: the column the writer scans to find a retried record, in place of an index held in memory. Filter on it beside record_id for a fast lookup: record_key = (''0x'' || right(''<record_id>'', 16))::UBIGINT.';
