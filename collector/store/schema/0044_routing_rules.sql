-- annotrace schema 0044: routing rules, which add new traces to a labeling session or review queue as they arrive.
-- Never edit this file once merged: a change is a new numbered file.
--
-- A rule is a search_traces filter (over the session's experiment) or a read-only SQL query that
-- returns trace_id. After each commit of ingested spans, the writer evaluates every rule on the
-- traces whose root span that commit stored (store/routing.py), keeps those whose trace id falls
-- under sample_rate (OpenTelemetry's TraceIdRatioBased rule: the same trace is always kept or
-- always dropped, so a replayed batch decides the same), and copies them into the session as
-- add_traces does, until traces_added reaches max_traces. A trace already in the session is not
-- added again. Rules see only traces that arrive after they are created.

CREATE TABLE routing_rules (
    rule_id VARCHAR PRIMARY KEY,
    session_id VARCHAR NOT NULL,
    filter_string VARCHAR,
    sql_query VARCHAR,
    sample_rate DOUBLE NOT NULL,
    max_traces BIGINT,
    traces_added BIGINT NOT NULL,
    created_by VARCHAR,
    create_time TIMESTAMP NOT NULL,
    last_error VARCHAR,
    last_error_time TIMESTAMP
);
COMMENT ON TABLE routing_rules IS 'Rules that add new matching traces to a labeling session or review queue automatically as they arrive (sampled, capped, never twice). One of filter_string and sql_query is set.';
COMMENT ON COLUMN routing_rules.rule_id IS 'rr- + 32 hex.';
COMMENT ON COLUMN routing_rules.session_id IS 'The labeling session or review queue the rule adds traces to (labeling_sessions.session_id); deleting it deletes its rules.';
COMMENT ON COLUMN routing_rules.filter_string IS 'A search_traces filter string (the grammar of POST /api/3.0/mlflow/traces/search), matched against traces of the session''s experiment; NULL for a SQL rule.';
COMMENT ON COLUMN routing_rules.sql_query IS 'A read-only SQL query (as POST /api/v1/sql takes) returning a trace_id column; a new trace matches when the query returns its id. NULL for a filter rule.';
COMMENT ON COLUMN routing_rules.sample_rate IS 'Share of matching traces added, in (0, 1]: a trace is kept when the low 64 bits of its trace id are below sample_rate * 2^64 (OpenTelemetry''s TraceIdRatioBased sampler), so the choice is the same every time.';
COMMENT ON COLUMN routing_rules.max_traces IS 'The most traces the rule adds in all; NULL: no limit.';
COMMENT ON COLUMN routing_rules.traces_added IS 'How many traces the rule has added to the session so far (a trace already in the session does not count).';
COMMENT ON COLUMN routing_rules.created_by IS 'The authenticated user who created the rule; NULL when authentication is off.';
COMMENT ON COLUMN routing_rules.create_time IS 'When the rule was created (UTC); it sees only traces whose root span arrives after it.';
COMMENT ON COLUMN routing_rules.last_error IS 'Why the rule last failed to run (a SQL error, the time limit), or NULL; a failing rule adds nothing for that commit and never holds up ingestion.';
COMMENT ON COLUMN routing_rules.last_error_time IS 'When last_error happened (UTC).';
