-- annotrace schema 0011: MLflow logged models (mlflow.set_active_model, mlflow.create_external_model,
-- the version a GenAI app's traces are grouped by). Never edit this file once merged.
--
-- Times are epoch milliseconds (BIGINT), as MLflow sends and reads them. No unique constraints
-- (see 0010); the writer jobs in store/queries/logged_models.py keep ids unique.

CREATE TABLE logged_models (
    model_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    model_type VARCHAR,
    source_run_id VARCHAR,
    status VARCHAR NOT NULL,
    status_message VARCHAR,
    creation_timestamp_ms BIGINT NOT NULL,
    last_updated_timestamp_ms BIGINT NOT NULL,
    lifecycle_stage VARCHAR NOT NULL,
    params JSON NOT NULL,
    tags JSON NOT NULL
);
COMMENT ON TABLE logged_models IS 'MLflow logged models (3.x LoggedModel): a named version of a model or GenAI app in an experiment; traces name it in metadata mlflow.modelId, metrics in run_metrics.model_id.';
COMMENT ON COLUMN logged_models.model_id IS 'Logged model id: "m-" + 32 lowercase hex (MLflow''s format).';
COMMENT ON COLUMN logged_models.experiment_id IS 'Experiment the model belongs to (experiments.experiment_id).';
COMMENT ON COLUMN logged_models.name IS 'Model name; not unique (set_active_model(name=...) picks the newest of that name).';
COMMENT ON COLUMN logged_models.model_type IS 'Free-form model type (e.g. "agent"), or NULL.';
COMMENT ON COLUMN logged_models.source_run_id IS 'Run that created the model (runs.run_id), or NULL.';
COMMENT ON COLUMN logged_models.status IS 'LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.';
COMMENT ON COLUMN logged_models.status_message IS 'Why the status is what it is (e.g. an upload error), or NULL.';
COMMENT ON COLUMN logged_models.creation_timestamp_ms IS 'When the model was created, epoch milliseconds.';
COMMENT ON COLUMN logged_models.last_updated_timestamp_ms IS 'When the model, its status or its tags last changed, epoch milliseconds.';
COMMENT ON COLUMN logged_models.lifecycle_stage IS 'active or deleted (deleted models are hidden from get and search).';
COMMENT ON COLUMN logged_models.params IS 'Params as a JSON object of string keys and values.';
COMMENT ON COLUMN logged_models.tags IS 'Tags as a JSON object of string keys and values, in the order first set.';
