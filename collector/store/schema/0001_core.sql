-- annotrace schema 0001: experiments, spans and what hangs off them, OTLP log records, traces.
-- Never edit this file once merged: a change is a new numbered file.
--
-- spans has no primary key on purpose: an ART index on (trace_id, span_id) halved insert speed
-- and grows in memory with the table. The writer de-duplicates instead (writer.py). Large text
-- columns use zstd: measured ~2,900 -> ~450 bytes per GenAI span and a cheaper checkpoint than
-- the default FSST/dictionary choice.

CREATE TABLE experiments (
    experiment_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    creation_time TIMESTAMP NOT NULL DEFAULT current_timestamp::TIMESTAMP,
    tags JSON
);
COMMENT ON TABLE experiments IS 'Groups of traces (MLflow experiments, Phoenix projects). Routed by header x-mlflow-experiment-id / x-annotrace-experiment, resource attribute annotrace.experiment, then service.name, else Default (id 0).';
COMMENT ON COLUMN experiments.experiment_id IS 'Experiment id: "0" for Default, otherwise a decimal string.';
COMMENT ON COLUMN experiments.name IS 'Unique experiment name.';
COMMENT ON COLUMN experiments.creation_time IS 'When the experiment was created (UTC).';
COMMENT ON COLUMN experiments.tags IS 'Experiment tags as a JSON object.';
INSERT INTO experiments (experiment_id, name) VALUES ('0', 'Default');

CREATE TABLE spans (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    span_type VARCHAR NOT NULL,
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    duration_ms DOUBLE NOT NULL,
    start_time_unix_nano BIGINT NOT NULL,
    end_time_unix_nano BIGINT NOT NULL,
    status_code VARCHAR NOT NULL,
    status_message VARCHAR,
    inputs JSON USING COMPRESSION zstd,
    outputs JSON USING COMPRESSION zstd,
    model VARCHAR,
    provider VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    total_tokens BIGINT,
    session_id VARCHAR,
    user_id VARCHAR,
    attributes JSON USING COMPRESSION zstd NOT NULL,
    resource_attributes JSON USING COMPRESSION zstd NOT NULL,
    scope_name VARCHAR,
    scope_version VARCHAR,
    trace_state VARCHAR,
    flags UBIGINT,
    dropped_attributes_count UBIGINT,
    dropped_events_count UBIGINT,
    dropped_links_count UBIGINT,
    normalization_errors VARCHAR[]
);
COMMENT ON TABLE spans IS 'One row per OTLP span, keyed by (trace_id, span_id): a retried export never duplicates a span. Raw attributes are always kept; the canonical GenAI columns are derived from OTel gen_ai.*, OpenInference and MLflow attributes.';
COMMENT ON COLUMN spans.trace_id IS 'Trace id: "tr-" + 32 lowercase hex (the OTel trace id).';
COMMENT ON COLUMN spans.span_id IS 'Span id: 16 lowercase hex.';
COMMENT ON COLUMN spans.parent_span_id IS 'Parent span id (16 hex), NULL for a root span.';
COMMENT ON COLUMN spans.experiment_id IS 'Experiment the span was routed to (experiments.experiment_id).';
COMMENT ON COLUMN spans.name IS 'Span name.';
COMMENT ON COLUMN spans.kind IS 'OTel span kind: UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER.';
COMMENT ON COLUMN spans.span_type IS 'MLflow span type: LLM, CHAT_MODEL, RETRIEVER, TOOL, AGENT, CHAIN, EMBEDDING, RERANKER, PARSER, MEMORY, GUARDRAIL, EVALUATOR, UNKNOWN (or a custom string sent by the app).';
COMMENT ON COLUMN spans.start_time IS 'Start time (UTC, microseconds).';
COMMENT ON COLUMN spans.end_time IS 'End time (UTC, microseconds).';
COMMENT ON COLUMN spans.duration_ms IS 'end - start in milliseconds.';
COMMENT ON COLUMN spans.start_time_unix_nano IS 'Start time exactly as sent (nanoseconds since the epoch).';
COMMENT ON COLUMN spans.end_time_unix_nano IS 'End time exactly as sent (nanoseconds since the epoch).';
COMMENT ON COLUMN spans.status_code IS 'OTel status: UNSET, OK or ERROR.';
COMMENT ON COLUMN spans.status_message IS 'OTel status message.';
COMMENT ON COLUMN spans.inputs IS 'Canonical inputs (JSON): mlflow.spanInputs, input.value, gen_ai.input.messages, tool call arguments.';
COMMENT ON COLUMN spans.outputs IS 'Canonical outputs (JSON): mlflow.spanOutputs, output.value, gen_ai.output.messages, tool call result.';
COMMENT ON COLUMN spans.model IS 'Model name (gen_ai.response.model, gen_ai.request.model, llm.model_name, mlflow.llm.model).';
COMMENT ON COLUMN spans.provider IS 'Model provider (gen_ai.provider.name, gen_ai.system, llm.provider, mlflow.llm.provider).';
COMMENT ON COLUMN spans.input_tokens IS 'Input (prompt) tokens of this span.';
COMMENT ON COLUMN spans.output_tokens IS 'Output (completion) tokens of this span.';
COMMENT ON COLUMN spans.total_tokens IS 'Total tokens of this span.';
COMMENT ON COLUMN spans.session_id IS 'Session / conversation id (session.id, gen_ai.conversation.id).';
COMMENT ON COLUMN spans.user_id IS 'End-user id (user.id).';
COMMENT ON COLUMN spans.attributes IS 'All span attributes as a JSON object (AnyValue kvlists become objects, arrays lists, bytes base64).';
COMMENT ON COLUMN spans.resource_attributes IS 'Resource attributes as a JSON object.';
COMMENT ON COLUMN spans.scope_name IS 'Instrumentation scope name.';
COMMENT ON COLUMN spans.scope_version IS 'Instrumentation scope version.';
COMMENT ON COLUMN spans.trace_state IS 'W3C trace state.';
COMMENT ON COLUMN spans.flags IS 'OTLP span flags.';
COMMENT ON COLUMN spans.dropped_attributes_count IS 'Attributes the sender dropped.';
COMMENT ON COLUMN spans.dropped_events_count IS 'Events the sender dropped.';
COMMENT ON COLUMN spans.dropped_links_count IS 'Links the sender dropped.';
COMMENT ON COLUMN spans.normalization_errors IS 'Why a canonical column could not be derived (malformed convention attributes); NULL when none.';

CREATE TABLE span_events (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    time TIMESTAMP NOT NULL,
    time_unix_nano BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    attributes JSON USING COMPRESSION zstd NOT NULL
);
COMMENT ON TABLE span_events IS 'Span events (exceptions, GenAI message events, streaming chunks), in the order the span carried them.';
COMMENT ON COLUMN span_events.trace_id IS 'Trace id of the span (tr-...).';
COMMENT ON COLUMN span_events.span_id IS 'Span id the event belongs to.';
COMMENT ON COLUMN span_events.position IS 'Index of the event within its span.';
COMMENT ON COLUMN span_events.time IS 'Event time (UTC).';
COMMENT ON COLUMN span_events.time_unix_nano IS 'Event time as sent (ns).';
COMMENT ON COLUMN span_events.name IS 'Event name (e.g. exception).';
COMMENT ON COLUMN span_events.attributes IS 'Event attributes as a JSON object.';

CREATE TABLE span_links (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    linked_trace_id VARCHAR NOT NULL,
    linked_span_id VARCHAR NOT NULL,
    trace_state VARCHAR,
    attributes JSON NOT NULL
);
COMMENT ON TABLE span_links IS 'Span links: a span pointing at another span, possibly in another trace.';
COMMENT ON COLUMN span_links.trace_id IS 'Trace id of the linking span.';
COMMENT ON COLUMN span_links.span_id IS 'Span id of the linking span.';
COMMENT ON COLUMN span_links.position IS 'Index of the link within its span.';
COMMENT ON COLUMN span_links.linked_trace_id IS 'Trace id of the linked span (tr-...).';
COMMENT ON COLUMN span_links.linked_span_id IS 'Span id of the linked span.';
COMMENT ON COLUMN span_links.trace_state IS 'W3C trace state of the link.';
COMMENT ON COLUMN span_links.attributes IS 'Link attributes as a JSON object.';

CREATE TABLE log_records (
    record_id VARCHAR PRIMARY KEY,
    experiment_id VARCHAR NOT NULL,
    time TIMESTAMP,
    observed_time TIMESTAMP,
    trace_id VARCHAR,
    span_id VARCHAR,
    severity_number INTEGER,
    severity_text VARCHAR,
    event_name VARCHAR,
    body JSON USING COMPRESSION zstd,
    attributes JSON USING COMPRESSION zstd NOT NULL,
    resource_attributes JSON USING COMPRESSION zstd NOT NULL,
    scope_name VARCHAR
);
COMMENT ON TABLE log_records IS 'OTLP log records and events (LogsService, /v1/logs). GenAI events are also joined to their spans by (trace_id, span_id).';
COMMENT ON COLUMN log_records.record_id IS 'Content hash of the record: a retried export does not duplicate it.';
COMMENT ON COLUMN log_records.experiment_id IS 'Experiment the record was routed to.';
COMMENT ON COLUMN log_records.time IS 'time_unix_nano as a timestamp (UTC); NULL when unset.';
COMMENT ON COLUMN log_records.observed_time IS 'observed_time_unix_nano as a timestamp (UTC).';
COMMENT ON COLUMN log_records.trace_id IS 'Trace id the record belongs to (tr-...), if any.';
COMMENT ON COLUMN log_records.span_id IS 'Span id the record belongs to, if any.';
COMMENT ON COLUMN log_records.severity_number IS 'OTel severity number (0-24).';
COMMENT ON COLUMN log_records.severity_text IS 'Severity text.';
COMMENT ON COLUMN log_records.event_name IS 'Event name (LogRecord.event_name, or the legacy event.name attribute).';
COMMENT ON COLUMN log_records.body IS 'Body (AnyValue as JSON).';
COMMENT ON COLUMN log_records.attributes IS 'Record attributes as a JSON object.';
COMMENT ON COLUMN log_records.resource_attributes IS 'Resource attributes as a JSON object.';
COMMENT ON COLUMN log_records.scope_name IS 'Instrumentation scope name.';

CREATE TABLE documents (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    document_id VARCHAR,
    content VARCHAR USING COMPRESSION zstd,
    score DOUBLE,
    doc_uri VARCHAR,
    metadata JSON USING COMPRESSION zstd
);
COMMENT ON TABLE documents IS 'Documents returned by RETRIEVER spans (MLflow Document lists, OpenInference retrieval.documents, gen_ai.retrieval.documents).';
COMMENT ON COLUMN documents.trace_id IS 'Trace id (tr-...).';
COMMENT ON COLUMN documents.span_id IS 'The retriever span.';
COMMENT ON COLUMN documents.position IS 'Rank of the document in the retriever output (0-based).';
COMMENT ON COLUMN documents.document_id IS 'Document id, if given.';
COMMENT ON COLUMN documents.content IS 'Document text (page_content / content / text).';
COMMENT ON COLUMN documents.score IS 'Retrieval score, if given.';
COMMENT ON COLUMN documents.doc_uri IS 'metadata.doc_uri, the source of the document.';
COMMENT ON COLUMN documents.metadata IS 'Document metadata as JSON.';

CREATE TABLE messages (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    role VARCHAR,
    content VARCHAR USING COMPRESSION zstd,
    tool_calls JSON USING COMPRESSION zstd,
    raw JSON USING COMPRESSION zstd
);
COMMENT ON TABLE messages IS 'Chat messages of LLM spans, from any convention, in order.';
COMMENT ON COLUMN messages.trace_id IS 'Trace id (tr-...).';
COMMENT ON COLUMN messages.span_id IS 'The LLM / chat span.';
COMMENT ON COLUMN messages.direction IS 'input (prompt, including system instructions) or output (completion).';
COMMENT ON COLUMN messages.position IS 'Index within its direction (0-based).';
COMMENT ON COLUMN messages.role IS 'system, user, assistant, tool, ...';
COMMENT ON COLUMN messages.content IS 'Text content (text parts joined).';
COMMENT ON COLUMN messages.tool_calls IS 'Tool calls requested by the message, as JSON.';
COMMENT ON COLUMN messages.raw IS 'The message as received, as JSON, when role and content do not say all of it (tool calls, multimodal parts, names, finish reasons, ...); NULL for a plain text message.';

CREATE TABLE traces (
    trace_id VARCHAR PRIMARY KEY,
    experiment_id VARCHAR NOT NULL,
    name VARCHAR,
    state VARCHAR NOT NULL,
    request_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    execution_duration_ms DOUBLE NOT NULL,
    request JSON USING COMPRESSION zstd,
    response JSON USING COMPRESSION zstd,
    request_preview VARCHAR,
    response_preview VARCHAR,
    tags JSON NOT NULL,
    trace_metadata JSON NOT NULL,
    span_count BIGINT NOT NULL,
    error_span_count BIGINT NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    total_tokens BIGINT,
    root_span_id VARCHAR,
    session_id VARCHAR,
    user_id VARCHAR,
    last_update_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE traces IS 'One row per trace, kept up to date as spans arrive (in any order, across exports, late): root name, request/response, state, time, duration, span count and token totals.';
COMMENT ON COLUMN traces.trace_id IS 'Trace id: "tr-" + 32 lowercase hex.';
COMMENT ON COLUMN traces.experiment_id IS 'Experiment (experiments.experiment_id) of the first span seen.';
COMMENT ON COLUMN traces.name IS 'Name of the root span (NULL until the root arrives).';
COMMENT ON COLUMN traces.state IS 'OK, ERROR (root span status ERROR) or IN_PROGRESS (root span not received yet).';
COMMENT ON COLUMN traces.request_time IS 'Earliest span start (UTC).';
COMMENT ON COLUMN traces.end_time IS 'Latest span end (UTC).';
COMMENT ON COLUMN traces.execution_duration_ms IS 'Latest span end - earliest span start, in milliseconds.';
COMMENT ON COLUMN traces.request IS 'Root span inputs (JSON).';
COMMENT ON COLUMN traces.response IS 'Root span outputs (JSON).';
COMMENT ON COLUMN traces.request_preview IS 'Short text of the request (the last user message for chat payloads).';
COMMENT ON COLUMN traces.response_preview IS 'Short text of the response (the assistant message for chat payloads).';
COMMENT ON COLUMN traces.tags IS 'Trace tags (JSON object of strings): mlflow.traceTag.* span attributes, and tags set through the API.';
COMMENT ON COLUMN traces.trace_metadata IS 'Trace metadata (JSON object of strings): mlflow.traceMetadata.* span attributes (e.g. mlflow.modelId), session and user.';
COMMENT ON COLUMN traces.span_count IS 'Number of spans stored for the trace.';
COMMENT ON COLUMN traces.error_span_count IS 'Number of spans with status ERROR.';
COMMENT ON COLUMN traces.input_tokens IS 'Sum of span input tokens.';
COMMENT ON COLUMN traces.output_tokens IS 'Sum of span output tokens.';
COMMENT ON COLUMN traces.total_tokens IS 'Sum of span total tokens.';
COMMENT ON COLUMN traces.root_span_id IS 'Span id of the root span, once received.';
COMMENT ON COLUMN traces.session_id IS 'Session / conversation id of the first span that had one.';
COMMENT ON COLUMN traces.user_id IS 'End-user id of the first span that had one.';
COMMENT ON COLUMN traces.last_update_time IS 'When a span of this trace was last stored (UTC).';
