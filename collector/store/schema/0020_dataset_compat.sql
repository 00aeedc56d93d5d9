-- annotrace schema 0020: evaluation datasets as a stock MLflow server keeps them.
-- Never edit this file once merged: a change is a new numbered file.
--
-- MLflow's store gives a dataset a digest, an inferred schema and a profile (its record count),
-- takes created_by / last_updated_by from the "mlflow.user" tag, allows two datasets with one
-- name, and keeps a record's expectations NULL when none were given. The index is dropped and
-- rebuilt around DROP NOT NULL because DuckDB cannot alter a column that an index depends on.

ALTER TABLE datasets ADD COLUMN digest VARCHAR;
ALTER TABLE datasets ADD COLUMN record_schema JSON;
ALTER TABLE datasets ADD COLUMN profile JSON;
COMMENT ON COLUMN datasets.digest IS 'First 8 hex digits of sha256("<name>:<last_update_time in epoch ms>"), recomputed when records are merged (MLflow''s dataset digest).';
COMMENT ON COLUMN datasets.record_schema IS 'Field types inferred from the merged records as JSON {"inputs": {...}, "outputs": ..., "expectations": {...}, "version": "1.0"} (MLflow''s dataset schema), or NULL before the first merge.';
COMMENT ON COLUMN datasets.profile IS 'Record statistics as JSON {"num_records": n} (MLflow''s dataset profile), or NULL before the first merge.';
COMMENT ON COLUMN datasets.name IS 'Dataset name. As in MLflow, two datasets may share a name (get_dataset(name=...) then refuses to choose).';
COMMENT ON COLUMN datasets.created_by IS 'Who created the dataset: the "mlflow.user" tag given at creation, else NULL.';
COMMENT ON COLUMN datasets.last_updated_by IS 'Who last merged records: the "mlflow.user" tag of the merged records (NULL when they had none), else the creator.';

DROP INDEX dataset_records_dataset;
ALTER TABLE dataset_records ALTER COLUMN expectations DROP NOT NULL;
ALTER TABLE dataset_records ALTER COLUMN tags DROP NOT NULL;
CREATE INDEX dataset_records_dataset ON dataset_records (dataset_id);
ALTER TABLE dataset_records ADD COLUMN created_by VARCHAR;
ALTER TABLE dataset_records ADD COLUMN last_updated_by VARCHAR;
COMMENT ON COLUMN dataset_records.expectations IS 'Expectations as a JSON object: expectation name -> value (e.g. {"expected_summary": "..."}), or NULL when the record was merged without any.';
COMMENT ON COLUMN dataset_records.tags IS 'Record tags as a JSON object of string keys and values; {} when none.';
COMMENT ON COLUMN dataset_records.outputs IS 'Outputs as JSON (for a trace: its response); {} when the merged record had no outputs field, NULL when it said null.';
COMMENT ON COLUMN dataset_records.source_type IS 'TRACE, HUMAN, DOCUMENT or CODE from the record''s source (MLflow''s DatasetRecordSourceType), or NULL without a source.';
COMMENT ON COLUMN dataset_records.created_by IS 'The "mlflow.user" tag of the record when it was first merged, else NULL.';
COMMENT ON COLUMN dataset_records.last_updated_by IS 'The "mlflow.user" tag of the last merge that carried one, else the creator.';
