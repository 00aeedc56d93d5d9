-- annotrace schema 0010: MLflow runs (mlflow.start_run, genai.evaluate), their metric history,
-- traces linked to runs, and the experiment lifecycle (delete / restore / rename).
-- Never edit this file once merged: a change is a new numbered file.
--
-- Times here are epoch milliseconds (BIGINT), not TIMESTAMP: MLflow clients send and read back
-- exact millisecond values (start_time may be 0), and a round trip must not change them.
-- No unique constraints or foreign keys (DuckDB rewrites an updated row as delete + insert and
-- checks them eagerly); the writer jobs in store/queries/runs.py keep ids unique, as 0003-0005 do.
-- Params and tags are JSON objects on the run row: a run has tens of them, read with the run.

CREATE TABLE runs (
    run_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    run_name VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    lifecycle_stage VARCHAR NOT NULL,
    deleted_time BIGINT,
    params JSON NOT NULL,
    tags JSON NOT NULL,
    dataset_inputs JSON NOT NULL,
    model_inputs JSON NOT NULL,
    model_outputs JSON NOT NULL
);
COMMENT ON TABLE runs IS 'MLflow runs: one execution of code in an experiment (mlflow.start_run, mlflow.genai.evaluate, a labeling session), with params, tags, dataset inputs and metrics (run_metrics).';
COMMENT ON COLUMN runs.run_id IS 'Run id: 32 lowercase hex (MLflow''s format). A labeling session''s run has the session''s id.';
COMMENT ON COLUMN runs.experiment_id IS 'Experiment the run belongs to (experiments.experiment_id).';
COMMENT ON COLUMN runs.run_name IS 'Run name (also the mlflow.runName tag); a random adjective-animal-number name when none was given.';
COMMENT ON COLUMN runs.user_id IS 'User who started the run, as the client sent it ("" when not sent).';
COMMENT ON COLUMN runs.status IS 'RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.';
COMMENT ON COLUMN runs.start_time IS 'Start time in epoch milliseconds, as the client sent it (0 when not sent).';
COMMENT ON COLUMN runs.end_time IS 'End time in epoch milliseconds; NULL while the run has not ended.';
COMMENT ON COLUMN runs.lifecycle_stage IS 'active or deleted (a deleted run can be restored).';
COMMENT ON COLUMN runs.deleted_time IS 'When the run was deleted, epoch milliseconds; NULL when active.';
COMMENT ON COLUMN runs.params IS 'Params as a JSON object of string keys and values (a param cannot change once logged).';
COMMENT ON COLUMN runs.tags IS 'Tags as a JSON object of string keys and values, in the order first set.';
COMMENT ON COLUMN runs.dataset_inputs IS 'JSON list of dataset inputs: {"tags": [{"key", "value"}], "dataset": {"name", "digest", "source_type", "source", "schema", "profile"}}, one per (name, digest).';
COMMENT ON COLUMN runs.model_inputs IS 'JSON list of logged models used as inputs: {"model_id"}.';
COMMENT ON COLUMN runs.model_outputs IS 'JSON list of logged models the run produced: {"model_id", "step"}.';

CREATE TABLE run_metrics (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    timestamp BIGINT NOT NULL,
    step BIGINT NOT NULL,
    model_id VARCHAR,
    dataset_name VARCHAR,
    dataset_digest VARCHAR
);
COMMENT ON TABLE run_metrics IS 'Every metric value logged to a run (the history); a run''s current value of a metric is the row with the largest (step, timestamp, value), as in MLflow.';
COMMENT ON COLUMN run_metrics.run_id IS 'Run the value was logged to (runs.run_id).';
COMMENT ON COLUMN run_metrics.key IS 'Metric name (e.g. exact_match/mean).';
COMMENT ON COLUMN run_metrics.value IS 'Metric value (NaN and infinities are kept).';
COMMENT ON COLUMN run_metrics.timestamp IS 'When the value was measured, epoch milliseconds, as the client sent it.';
COMMENT ON COLUMN run_metrics.step IS 'Training step or iteration (0 when not given).';
COMMENT ON COLUMN run_metrics.model_id IS 'Logged model the value describes (logged_models.model_id), or NULL.';
COMMENT ON COLUMN run_metrics.dataset_name IS 'Name of the dataset the value was computed on, or NULL.';
COMMENT ON COLUMN run_metrics.dataset_digest IS 'Digest of the dataset the value was computed on, or NULL.';

CREATE TABLE trace_run_links (
    trace_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    create_time BIGINT NOT NULL
);
COMMENT ON TABLE trace_run_links IS 'Traces linked to a run after the fact (POST /api/2.0/mlflow/traces/link-to-run, as mlflow.genai.evaluate does); search_traces(run_id=...) finds a trace linked here or whose metadata mlflow.sourceRun names the run.';
COMMENT ON COLUMN trace_run_links.trace_id IS 'Linked trace (traces.trace_id).';
COMMENT ON COLUMN trace_run_links.run_id IS 'Run it is linked to (runs.run_id).';
COMMENT ON COLUMN trace_run_links.create_time IS 'When the link was made, epoch milliseconds.';

ALTER TABLE experiments ADD COLUMN lifecycle_stage VARCHAR DEFAULT 'active';
ALTER TABLE experiments ADD COLUMN last_update_time TIMESTAMP;
COMMENT ON COLUMN experiments.lifecycle_stage IS 'active or deleted (MLflow''s delete_experiment marks it deleted with its runs; restore_experiment brings both back).';
COMMENT ON COLUMN experiments.last_update_time IS 'When the experiment was last renamed, tagged, deleted or restored (UTC); NULL if never.';

-- Labeling sessions made before this file become runs of their own id (Databricks' sessions are runs).
INSERT INTO runs
SELECT session_id, experiment_id, name, '', 'RUNNING', epoch_ms(create_time), NULL, 'active', NULL, '{}',
       json_object('mlflow.runName', name), '[]', '[]', '[]'
FROM labeling_sessions;
