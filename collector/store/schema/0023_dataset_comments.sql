-- annotrace schema 0023: the dataset tables' descriptions as 0020 made them (names may repeat;
-- outputs are replaced only when a merged record names them).
-- Never edit this file once merged: a change is a new numbered file.

COMMENT ON TABLE datasets IS 'Evaluation datasets (MLflow mlflow.genai.datasets): named sets of inputs with their expectations (ground truth), used by evaluation. As in MLflow, two datasets may share a name.';
COMMENT ON TABLE dataset_records IS 'The records of an evaluation dataset: one row per distinct inputs object. Merging a record with the same inputs updates the existing row (expectations and tags merged key by key, outputs replaced when the merged record has an outputs field) instead of adding one.';
