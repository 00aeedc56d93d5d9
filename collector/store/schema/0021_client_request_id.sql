-- annotrace schema 0021: a trace's client_request_id (MLflow TraceInfo.client_request_id).
-- Never edit this file once merged: a change is a new numbered file.
--
-- The stock MLflow client sends it in StartTraceV3's trace_info when the app called
-- mlflow.update_current_trace(client_request_id=...); MLflow returns it in every TraceInfo and
-- search_traces filters on trace.client_request_id.

ALTER TABLE traces ADD COLUMN client_request_id VARCHAR;
COMMENT ON COLUMN traces.client_request_id IS 'Id the client gave the request that produced this trace (MLflow''s client_request_id, e.g. the app''s own request id), or NULL.';
