-- annotrace schema 0005: evaluation datasets (MLflow mlflow.genai.datasets) and their records.
-- Never edit this file once merged: a change is a new numbered file.
--
-- No unique constraints or foreign keys (DuckDB rewrites an updated row as delete + insert and
-- checks them eagerly); the writer jobs in store/queries/datasets.py keep names unique, records
-- de-duplicated by inputs (input_hash) and links whole, as 0003 and 0004 do.

CREATE TABLE datasets (
    dataset_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    experiment_ids JSON NOT NULL,
    tags JSON NOT NULL,
    created_by VARCHAR,
    last_updated_by VARCHAR,
    create_time TIMESTAMP NOT NULL,
    last_update_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE datasets IS 'Evaluation datasets (MLflow mlflow.genai.datasets): named sets of inputs with their expectations (ground truth), used by evaluation. Names are unique.';
COMMENT ON COLUMN datasets.dataset_id IS 'Dataset id: "d-" + 32 lowercase hex (MLflow''s format).';
COMMENT ON COLUMN datasets.name IS 'Dataset name, unique across the store (e.g. a Unity Catalog-style catalog.schema.table name or any text).';
COMMENT ON COLUMN datasets.experiment_ids IS 'JSON list of the experiments (experiments.experiment_id) the dataset is linked to.';
COMMENT ON COLUMN datasets.tags IS 'Dataset tags as a JSON object of string keys and values.';
COMMENT ON COLUMN datasets.created_by IS 'Who created the dataset, when the client said (else NULL).';
COMMENT ON COLUMN datasets.last_updated_by IS 'Who last changed the dataset or its records, when the client said (else NULL).';
COMMENT ON COLUMN datasets.create_time IS 'When the dataset was created (UTC).';
COMMENT ON COLUMN datasets.last_update_time IS 'When the dataset, its tags or its records last changed (UTC).';

CREATE TABLE dataset_records (
    record_id VARCHAR PRIMARY KEY,
    dataset_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    input_hash VARCHAR NOT NULL,
    inputs JSON NOT NULL,
    outputs JSON,
    expectations JSON NOT NULL,
    tags JSON NOT NULL,
    source JSON,
    source_type VARCHAR,
    source_id VARCHAR,
    create_time TIMESTAMP NOT NULL,
    last_update_time TIMESTAMP NOT NULL
);
CREATE INDEX dataset_records_dataset ON dataset_records (dataset_id);
COMMENT ON TABLE dataset_records IS 'The records of an evaluation dataset: one row per distinct inputs object. Merging a record with the same inputs updates the existing row (expectations and tags merged key by key, outputs replaced) instead of adding one.';
COMMENT ON COLUMN dataset_records.record_id IS 'Record id: "dr-" + 32 lowercase hex (MLflow''s dataset_record_id).';
COMMENT ON COLUMN dataset_records.dataset_id IS 'Dataset the record belongs to (datasets.dataset_id).';
COMMENT ON COLUMN dataset_records.position IS 'Order in which the record was first merged into its dataset (0 first): the order records are listed in.';
COMMENT ON COLUMN dataset_records.input_hash IS 'sha256 hex of the inputs as JSON with sorted keys: the de-duplication key within a dataset (MLflow''s).';
COMMENT ON COLUMN dataset_records.inputs IS 'The inputs as a JSON object (for a trace: its request, the root span inputs).';
COMMENT ON COLUMN dataset_records.outputs IS 'Outputs as JSON (for a trace: its response), or NULL.';
COMMENT ON COLUMN dataset_records.expectations IS 'Expectations as a JSON object: expectation name -> value (e.g. {"expected_summary": "..."}); {} when none.';
COMMENT ON COLUMN dataset_records.tags IS 'Record tags as a JSON object of string keys and values; {} when none.';
COMMENT ON COLUMN dataset_records.source IS 'Where the record came from as JSON {"source_type": TRACE|HUMAN|DOCUMENT|CODE, "source_data": {...}}, e.g. {"source_type": "TRACE", "source_data": {"trace_id": "tr-..."}}, or NULL.';
COMMENT ON COLUMN dataset_records.source_type IS 'TRACE, HUMAN, DOCUMENT or CODE (MLflow''s DatasetRecordSourceType), or NULL.';
COMMENT ON COLUMN dataset_records.source_id IS 'Id of the source: the trace id for TRACE, the reviewer for HUMAN, or NULL.';
COMMENT ON COLUMN dataset_records.create_time IS 'When the record was first merged (UTC).';
COMMENT ON COLUMN dataset_records.last_update_time IS 'When the record was last merged into (UTC).';
