-- annotrace schema 0004: label schemas (the questions experts answer), labeling sessions (a run that
-- holds copies of traces to review), their items and each labeler's progress on each item.
-- Never edit this file once merged: a change is a new numbered file.
--
-- Answers are not stored here: an answer is an ordinary assessment on the session's copy of the
-- trace (named after the schema, source HUMAN/<labeler>), so search_traces and the assessment API
-- see labels with no extra join. No unique constraints or foreign keys (DuckDB rewrites an updated
-- row as delete + insert and checks them eagerly); the writer jobs in store/queries/labeling.py and
-- label_schemas.py keep names unique and links whole, as 0003 does for assessments.

CREATE TABLE label_schemas (
    schema_id VARCHAR PRIMARY KEY,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    type VARCHAR NOT NULL CHECK (type IN ('feedback', 'expectation')),
    title VARCHAR,
    instruction VARCHAR,
    enable_comment BOOLEAN NOT NULL,
    input_type VARCHAR NOT NULL
        CHECK (input_type IN ('pass_fail', 'categorical', 'categorical_list', 'numeric', 'text', 'text_list')),
    input JSON NOT NULL,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE label_schemas IS 'Label schemas (MLflow mlflow.genai.label_schemas): the questions domain experts answer in a labeling session, one set per experiment, names unique per experiment. An answer becomes an assessment named after the schema.';
COMMENT ON COLUMN label_schemas.schema_id IS 'Label schema id: "ls-" + 32 lowercase hex (MLflow''s format).';
COMMENT ON COLUMN label_schemas.experiment_id IS 'Experiment the schema belongs to (experiments.experiment_id).';
COMMENT ON COLUMN label_schemas.name IS 'Schema name, unique per experiment; the assessment_name of every answer (e.g. expected_facts, summary_quality).';
COMMENT ON COLUMN label_schemas.type IS 'feedback (answers are feedback: a judgement) or expectation (answers are expectations: the ground truth).';
COMMENT ON COLUMN label_schemas.title IS 'The question shown to the labeler (Databricks ReviewApp title).';
COMMENT ON COLUMN label_schemas.instruction IS 'Extra guidance shown under the question, or NULL.';
COMMENT ON COLUMN label_schemas.enable_comment IS 'Whether labelers may add a comment, stored as the assessment rationale.';
COMMENT ON COLUMN label_schemas.input_type IS 'Answer widget: pass_fail, categorical, categorical_list, numeric, text or text_list.';
COMMENT ON COLUMN label_schemas.input IS 'Widget settings as JSON: options (categorical, categorical_list), min_value/max_value (numeric), max_length (text), max_length_each/max_count (text_list), positive_label/negative_label (pass_fail).';
COMMENT ON COLUMN label_schemas.created_by IS 'Who created the schema, when the client said (else NULL).';
COMMENT ON COLUMN label_schemas.created_at IS 'When the schema was created (UTC).';
COMMENT ON COLUMN label_schemas.updated_at IS 'When the schema was last replaced (create with overwrite) (UTC).';

CREATE TABLE labeling_sessions (
    session_id VARCHAR PRIMARY KEY,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    assigned_users JSON NOT NULL,
    agent VARCHAR,
    label_schemas JSON NOT NULL,
    enable_multi_turn_chat BOOLEAN NOT NULL,
    custom_inputs JSON,
    create_time TIMESTAMP NOT NULL,
    last_update_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE labeling_sessions IS 'Labeling sessions (MLflow mlflow.genai.labeling): a run that holds copies of traces for domain experts to label with the session''s label schemas. Session names need not be unique; the id is the run id.';
COMMENT ON COLUMN labeling_sessions.session_id IS 'Session id, which is also its MLflow run id (32 lowercase hex): the copied traces carry it as trace metadata mlflow.sourceRun.';
COMMENT ON COLUMN labeling_sessions.experiment_id IS 'Experiment of the session and of its copied traces.';
COMMENT ON COLUMN labeling_sessions.name IS 'Session name as given (not unique).';
COMMENT ON COLUMN labeling_sessions.assigned_users IS 'JSON list of the users allowed to label; an empty list lets any user label.';
COMMENT ON COLUMN labeling_sessions.agent IS 'Name of the agent that answers items in chat mode, or NULL.';
COMMENT ON COLUMN labeling_sessions.label_schemas IS 'JSON list of the label schema names (label_schemas.name, same experiment) labelers answer, in display order.';
COMMENT ON COLUMN labeling_sessions.enable_multi_turn_chat IS 'Whether labelers may continue the conversation (MLflow flag, stored as given).';
COMMENT ON COLUMN labeling_sessions.custom_inputs IS 'Custom inputs passed to the agent, as a JSON object, or NULL.';
COMMENT ON COLUMN labeling_sessions.create_time IS 'When the session was created (UTC).';
COMMENT ON COLUMN labeling_sessions.last_update_time IS 'When the session or its assigned users last changed (UTC).';

CREATE TABLE labeling_items (
    session_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    source_trace_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    create_time TIMESTAMP NOT NULL
);
CREATE INDEX labeling_items_session ON labeling_items (session_id);
COMMENT ON TABLE labeling_items IS 'The traces of a labeling session, one row per copied trace: add_traces copies the source trace (traces, spans, span_events, span_links, documents, messages rows) under a new trace id, so labels never touch the original. A source is added to a session at most once.';
COMMENT ON COLUMN labeling_items.session_id IS 'Session the item belongs to (labeling_sessions.session_id).';
COMMENT ON COLUMN labeling_items.trace_id IS 'The session''s copy of the trace ("tr-" + 32 hex): where answers are stored as assessments.';
COMMENT ON COLUMN labeling_items.source_trace_id IS 'The trace that was copied (also on the copy as trace tag and metadata annotrace.source_trace_id).';
COMMENT ON COLUMN labeling_items.position IS 'Order of the item in the session queue (0 first, in the order traces were added).';
COMMENT ON COLUMN labeling_items.create_time IS 'When the trace was added to the session (UTC).';

CREATE TABLE labeling_item_status (
    session_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'skipped')),
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX labeling_item_status_session ON labeling_item_status (session_id);
COMMENT ON TABLE labeling_item_status IS 'Each labeler''s status on each item. No row means pending: a row appears with the first answer (in_progress), becomes completed once the labeler has answered every schema of the session, or skipped.';
COMMENT ON COLUMN labeling_item_status.session_id IS 'Session of the item (labeling_sessions.session_id).';
COMMENT ON COLUMN labeling_item_status.trace_id IS 'The item: the session''s copy of the trace (labeling_items.trace_id).';
COMMENT ON COLUMN labeling_item_status.user_id IS 'The labeler (user name or email), also the source_id of their answers.';
COMMENT ON COLUMN labeling_item_status.status IS 'pending, in_progress (some schemas answered), completed (all answered) or skipped.';
COMMENT ON COLUMN labeling_item_status.update_time IS 'When the status last changed (UTC).';
