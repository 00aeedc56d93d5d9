-- annotrace schema 0012: small artifacts uploaded through MLflow's artifact proxy
-- (PUT /api/2.0/mlflow-artifacts/artifacts/<path>). Never edit this file once merged.
--
-- The stock client uploads an MLmodel file for every logged model it creates
-- (mlflow.set_active_model(name=...), create_external_model); annotrace keeps such files in the
-- store rather than beside it, so the DuckDB file stays the one thing to back up. Large model
-- weights are out of scope: an upload is limited in size (api/mlflow/artifacts.py).

CREATE TABLE artifacts (
    path VARCHAR NOT NULL,
    content BLOB NOT NULL,
    file_size BIGINT NOT NULL,
    upload_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE artifacts IS 'Files uploaded through MLflow''s artifact proxy (mlflow-artifacts:/ URIs), e.g. the MLmodel file of a logged model; one row per path, a new upload replaces it.';
COMMENT ON COLUMN artifacts.path IS 'Path under mlflow-artifacts:/, e.g. 3/models/m-<32 hex>/artifacts/MLmodel.';
COMMENT ON COLUMN artifacts.content IS 'The file''s bytes.';
COMMENT ON COLUMN artifacts.file_size IS 'Size of the file in bytes.';
COMMENT ON COLUMN artifacts.upload_time IS 'When the file was last uploaded (UTC).';
