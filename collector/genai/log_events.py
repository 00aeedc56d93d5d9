"""GenAI chat events sent as OTLP log records -> the rows the writer joins to their spans.

The official OpenAI instrumentation records chat content as log records carrying the chat span's
trace and span ids (``gen_ai.{system,user,assistant,tool}.message`` / ``gen_ai.choice``, or one
``gen_ai.client.inference.operation.details`` record). Which records those are, and what their
payload is, is read here in the decode workers; ``store/genai_join.py`` stores them as pending
and joins them to their spans inside the writer's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from annotrace.collector.pipeline.processors.genai_messages import dumps
from annotrace.collector.pipeline.processors.genai_otel import DETAILS_EVENT, EVENT_NAMES
from annotrace.collector.store.genai_join import DEFAULT_PREVIEW_MAX_CHARS, Pending, join_staged

if TYPE_CHECKING:
    import duckdb

    from annotrace.collector.telemetry import Batch, LogBatch

_STR = pa.string()


def _payload(name: str, body: Any, attributes: dict[str, Any]) -> Any:
    """What the messages are read from: operation.details keeps everything in attributes."""
    if name == DETAILS_EVENT or body is None:
        return attributes
    return body


def pending_events(logs: LogBatch) -> list[Pending]:
    """The batch's GenAI event records, as the join stores them (pure: runs in decode workers)."""
    rows: dict[str, Pending] = {}
    for i, name in enumerate(logs.event_name):
        if name in EVENT_NAMES and logs.trace_id[i] and logs.span_id[i]:
            time_ns = logs.time_ns[i] or logs.observed_ns[i] or 0
            payload = dumps(_payload(name, logs.body[i], logs.attributes[i]))
            if payload is None:  # not writable as JSON: the record stays in log_records only
                continue
            record: Any = (logs.record_id[i], logs.trace_id[i], logs.span_id[i], name, time_ns, i, payload)
            rows[logs.record_id[i]] = record
    return list(rows.values())


def join_log_events(conn: duckdb.DuckDBPyConnection, batch: Batch,
                    preview_max_chars: int = DEFAULT_PREVIEW_MAX_CHARS) -> int:
    """``store.genai_join.join_staged`` for a decoded batch (tests and in-process use)."""
    spans = batch.spans
    keys = pa.table({
        "trace_id": pa.array(spans.trace_id, _STR), "span_id": pa.array(spans.span_id, _STR),
        "start_time_unix_nano": pa.array(spans.start_ns, pa.int64()),
        "parent_span_id": pa.array(spans.parent_span_id, _STR),
    })
    return join_staged(conn, keys, pending_events(batch.logs), preview_max_chars)
