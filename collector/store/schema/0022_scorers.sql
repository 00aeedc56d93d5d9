-- annotrace schema 0022: the scorer registry (MLflow /api/3.0/mlflow/scorers/*).
-- Never edit this file once merged: a change is a new numbered file.
--
-- A scorer is a name in an experiment; each register() adds a version holding the client's
-- serialized scorer (JSON text, stored as sent). No unique keys: the writer jobs in
-- store/queries/scorers.py keep (experiment_id, name) and (scorer_id, version) unique.

CREATE TABLE scorers (
    scorer_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL
);
COMMENT ON TABLE scorers IS 'Registered scorers (MLflow scorer registry): one row per scorer name in an experiment; its versions are in scorer_versions.';
COMMENT ON COLUMN scorers.scorer_id IS 'Scorer id: a UUID (MLflow''s format), the same for every version of the name.';
COMMENT ON COLUMN scorers.experiment_id IS 'Experiment the scorer is registered in (experiments.experiment_id).';
COMMENT ON COLUMN scorers.name IS 'Scorer name, unique within its experiment.';

CREATE TABLE scorer_versions (
    scorer_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    serialized_scorer VARCHAR NOT NULL,
    create_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE scorer_versions IS 'The versions of each registered scorer: register() of a name adds version max + 1.';
COMMENT ON COLUMN scorer_versions.scorer_id IS 'Scorer the version belongs to (scorers.scorer_id).';
COMMENT ON COLUMN scorer_versions.version IS 'Version number, 1 for the first registration of the name.';
COMMENT ON COLUMN scorer_versions.serialized_scorer IS 'The scorer as the MLflow client serialized it: JSON text (builtin_scorer_class, instructions_judge_pydantic_data, ...). Scorers carrying code (call_source, from @scorer) are refused, as a stock MLflow server refuses them.';
COMMENT ON COLUMN scorer_versions.create_time IS 'When the version was registered (UTC).';
