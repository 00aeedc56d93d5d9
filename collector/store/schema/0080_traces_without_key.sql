-- annotrace schema 0080: traces without a primary key, found by trace_key instead (issue 18).
-- Never edit this file once merged: a change is a new numbered file.
--
-- The traces primary key was an ART index, which DuckDB holds in memory and never evicts: ~75-96
-- bytes per stored trace, so the collector's memory grew with the store (100M traces, ~9 GB). The
-- writer now finds the stored rows of a batch's traces by scanning trace_key, one fixed-width
-- column (~6 ns per stored trace, measured at 5M traces, against ~50 ns for trace_id), and keeps
-- one row per trace itself (store/span_writes.py), as it already kept spans unique without a key.
-- DuckDB cannot drop a primary key, so the table is rebuilt (migrate.py), with every comment.

CREATE TABLE traces_rebuilt (
    trace_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR,
    state VARCHAR NOT NULL,
    request_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    execution_duration_ms DOUBLE NOT NULL,
    request JSON USING COMPRESSION zstd,
    response JSON USING COMPRESSION zstd,
    request_preview VARCHAR,
    response_preview VARCHAR,
    tags JSON NOT NULL,
    trace_metadata JSON NOT NULL,
    span_count BIGINT NOT NULL,
    error_span_count BIGINT NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    total_tokens BIGINT,
    root_span_id VARCHAR,
    session_id VARCHAR,
    user_id VARCHAR,
    last_update_time TIMESTAMP NOT NULL,
    client_request_id VARCHAR,
    trace_key UBIGINT NOT NULL
);
INSERT INTO traces_rebuilt BY NAME
SELECT *, coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0) AS trace_key FROM traces ORDER BY request_time;
DROP TABLE traces;
ALTER TABLE traces_rebuilt RENAME TO traces;
COMMENT ON TABLE traces IS 'One row per trace, kept up to date as spans arrive (in any order, across exports, late): root name, request/response, state, time, duration, span count and token totals.';
COMMENT ON COLUMN traces.trace_id IS 'Trace id: "tr-" + 32 lowercase hex.';
COMMENT ON COLUMN traces.experiment_id IS 'Experiment (experiments.experiment_id) of the first span seen.';
COMMENT ON COLUMN traces.name IS 'Name of the root span (NULL until the root arrives).';
COMMENT ON COLUMN traces.state IS 'OK, ERROR (root span status ERROR) or IN_PROGRESS (root span not received yet).';
COMMENT ON COLUMN traces.request_time IS 'Earliest span start (UTC).';
COMMENT ON COLUMN traces.end_time IS 'Latest span end (UTC).';
COMMENT ON COLUMN traces.execution_duration_ms IS 'Latest span end - earliest span start, in milliseconds.';
COMMENT ON COLUMN traces.request IS 'Root span inputs (JSON).';
COMMENT ON COLUMN traces.response IS 'Root span outputs (JSON).';
COMMENT ON COLUMN traces.request_preview IS 'Short text of the request (the last user message for chat payloads).';
COMMENT ON COLUMN traces.response_preview IS 'Short text of the response (the assistant message for chat payloads).';
COMMENT ON COLUMN traces.tags IS 'Trace tags (JSON object of strings): mlflow.traceTag.* span attributes, and tags set through the API.';
COMMENT ON COLUMN traces.trace_metadata IS 'Trace metadata (JSON object of strings): mlflow.traceMetadata.* span attributes (e.g. mlflow.modelId), session and user.';
COMMENT ON COLUMN traces.span_count IS 'Number of spans stored for the trace.';
COMMENT ON COLUMN traces.error_span_count IS 'Number of spans with status ERROR.';
COMMENT ON COLUMN traces.input_tokens IS 'Sum of span input tokens.';
COMMENT ON COLUMN traces.output_tokens IS 'Sum of span output tokens.';
COMMENT ON COLUMN traces.total_tokens IS 'Sum of span total tokens.';
COMMENT ON COLUMN traces.root_span_id IS 'Span id of the root span, once received.';
COMMENT ON COLUMN traces.session_id IS 'Session / conversation id of the first span that had one.';
COMMENT ON COLUMN traces.user_id IS 'End-user id of the first span that had one.';
COMMENT ON COLUMN traces.last_update_time IS 'When a span of this trace was last stored (UTC).';
COMMENT ON COLUMN traces.client_request_id IS 'Id the client gave the request that produced this trace (MLflow''s client_request_id, e.g. the app''s own request id), or NULL.';
COMMENT ON COLUMN traces.trace_key IS 'The last 16 hex digits of trace_id as an unsigned 64-bit integer (0 for an id without them): the column the writer scans to find a trace''s row, in place of an index held in memory. Filter on it beside trace_id for a fast lookup: trace_key = (''0x'' || right(''tr-...'', 16))::UBIGINT.';
