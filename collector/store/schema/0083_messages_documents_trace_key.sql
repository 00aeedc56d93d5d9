-- annotrace schema 0083: messages and documents carry trace_key, so a trace's rows are found cheaply (issue 18).
-- Never edit this file once merged: a change is a new numbered file.
--
-- A trace's messages or documents were found by a scan of trace_id's strings (~11 ms of CPU at 1M
-- rows, for every trace page, review item and GenAI join). trace_key is the traces column of schema
-- 0080 (the last 16 hex digits of the trace id as an unsigned 64-bit integer), filled on insert:
-- lookups filter on it beside trace_id and DuckDB scans one fixed-width column (~5 ms at 1M rows).

ALTER TABLE messages ADD COLUMN trace_key UBIGINT;
UPDATE messages SET trace_key = coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0);
COMMENT ON COLUMN messages.trace_key IS 'The last 16 hex digits of trace_id as an unsigned 64-bit integer (as traces.trace_key): filter on it beside trace_id for a fast lookup of a trace''s messages: trace_key = (''0x'' || right(''tr-...'', 16))::UBIGINT.';
ALTER TABLE documents ADD COLUMN trace_key UBIGINT;
UPDATE documents SET trace_key = coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0);
COMMENT ON COLUMN documents.trace_key IS 'The last 16 hex digits of trace_id as an unsigned 64-bit integer (as traces.trace_key): filter on it beside trace_id for a fast lookup of a trace''s documents: trace_key = (''0x'' || right(''tr-...'', 16))::UBIGINT.';
