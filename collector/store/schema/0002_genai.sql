-- annotrace schema 0002: GenAI events that arrive as OTLP log records, joined to their spans.
-- The official OpenAI instrumentation sends chat content as log records (legacy per-message
-- events, or gen_ai.client.inference.operation.details), before or after the span, in another
-- export. store/genai_join.py turns them into messages rows once both are stored.
-- Never edit this file once merged: a change is a new numbered file.

ALTER TABLE messages ADD COLUMN log_record_id VARCHAR;
COMMENT ON COLUMN messages.log_record_id IS 'The log_records row the message came from (GenAI events sent as OTLP logs); NULL when it came from the span itself.';

CREATE TABLE genai_log_events_seen (
    record_id VARCHAR PRIMARY KEY
);
COMMENT ON TABLE genai_log_events_seen IS 'Every GenAI event log record ever considered for the message join, so a retried log export is never joined twice.';
COMMENT ON COLUMN genai_log_events_seen.record_id IS 'log_records.record_id of the event.';

CREATE TABLE genai_log_events_pending (
    record_id VARCHAR PRIMARY KEY,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    event_name VARCHAR NOT NULL,
    time_unix_nano BIGINT NOT NULL,
    ordinal INTEGER NOT NULL,
    payload JSON
);
COMMENT ON TABLE genai_log_events_pending IS 'GenAI event log records whose span has not been stored yet; a row is removed when its span arrives and its messages are written.';
COMMENT ON COLUMN genai_log_events_pending.record_id IS 'log_records.record_id of the event.';
COMMENT ON COLUMN genai_log_events_pending.trace_id IS 'Trace id of the span the event belongs to (tr-...).';
COMMENT ON COLUMN genai_log_events_pending.span_id IS 'Span id the event belongs to.';
COMMENT ON COLUMN genai_log_events_pending.event_name IS 'Event name, e.g. gen_ai.user.message, gen_ai.choice, gen_ai.client.inference.operation.details.';
COMMENT ON COLUMN genai_log_events_pending.time_unix_nano IS 'Event time in ns (time, else observed time): orders the messages of a span.';
COMMENT ON COLUMN genai_log_events_pending.ordinal IS 'Index of the record in the batch it came in: breaks ties between equal times.';
COMMENT ON COLUMN genai_log_events_pending.payload IS 'What the messages are read from: the body of a per-message event, the attributes of an operation.details event.';
