"""GenAI chat events sent as OTLP log records -> the rows the writer joins to their spans.

The official OpenAI instrumentation records chat content as log records carrying the chat span's
trace and span ids (``gen_ai.{system,user,assistant,tool}.message`` / ``gen_ai.choice``, or one
``gen_ai.client.inference.operation.details`` record). Which records those are, and what their
payload is, is read here in the decode workers; ``store/genai_join.py`` stores them as pending
and joins them to their spans inside the writer's transaction, reading their messages through
``ChatEvents`` (the same readers the ``genai`` processor uses for span events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from annotrace.collector.pipeline.processors.genai_fields import SpanFields
from annotrace.collector.pipeline.processors.genai_messages import (
    Message,
    dumps,
    event_chat_message,
    messages_items,
    messages_json,
    preview,
)
from annotrace.collector.pipeline.processors.genai_otel import DETAILS_EVENT, EVENT_NAMES, read_events
from annotrace.collector.store.genai_join import DEFAULT_PREVIEW_MAX_CHARS, Pending, join_genai_events

if TYPE_CHECKING:
    import duckdb

    from annotrace.collector.telemetry import Batch, LogBatch

_STR = pa.string()
_MAX_MESSAGES = 1000


def _payload(name: str, body: Any, attributes: dict[str, Any]) -> Any:
    """What the messages are read from: operation.details keeps everything in attributes."""
    if name == DETAILS_EVENT or body is None:
        return attributes
    return body


def pending_events(logs: LogBatch) -> list[Pending]:
    """The batch's GenAI event records, as the join stores them (pure: runs in decode workers)."""
    rows: dict[str, Pending] = {}
    for i, name in enumerate(logs.event_name):
        trace_id, span_id = logs.trace_id[i], logs.span_id[i]
        if name in EVENT_NAMES and trace_id and span_id:
            time_ns = logs.time_ns[i] or logs.observed_ns[i] or 0
            payload = dumps(_payload(name, logs.body[i], logs.attributes[i]))
            if payload is None:  # not writable as JSON: the record stays in log_records only
                continue
            rows[logs.record_id[i]] = Pending(logs.record_id[i], trace_id, span_id, name, time_ns, i, payload)
    return list(rows.values())


def _event_rows(name: str, payload: Any) -> list[tuple[str, Message]]:
    """(direction, message) rows of one record, read exactly as the processor reads span events."""
    if name != DETAILS_EVENT:
        got = event_chat_message(name, payload)
        return [] if got is None else [got]
    fields = SpanFields()
    read_events([(0, 0, 0, name, payload if isinstance(payload, dict) else {})], fields, _MAX_MESSAGES, _MAX_MESSAGES)
    return [("input", m) for m in fields.in_messages or ()] + [("output", m) for m in fields.out_messages or ()]


class ChatEvents:
    """``store.genai_join.ChatReader`` with the ``genai`` processor's readers: a conversation sent as
    log records reads the same as one sent as span events."""

    def messages(self, records: list[Pending]) -> list[tuple[Pending, list[tuple[str, Message]]]]:
        """Records in message order (time, then choice index, then arrival) with their messages."""
        keyed = []
        for record in records:
            payload = None if record.payload is None else orjson.loads(record.payload)
            index = payload.get("index") if record.event_name == "gen_ai.choice" and isinstance(payload, dict) else None
            keyed.append(((record.time_unix_nano, index if type(index) is int else 0, record.ordinal), record, payload))
        keyed.sort(key=lambda item: item[0])
        return [(record, _event_rows(record.event_name, payload)) for _, record, payload in keyed]

    def json(self, messages: list[Message]) -> str:
        return messages_json(messages)

    def merged(self, messages: list[Message], role: str, preview_max_chars: int) -> tuple[str, str | None]:
        items = messages_items(messages)
        text = orjson.dumps(items).decode()
        return text, preview(items, text, role, preview_max_chars)


def join_log_events(
    conn: duckdb.DuckDBPyConnection, batch: Batch, preview_max_chars: int = DEFAULT_PREVIEW_MAX_CHARS
) -> int:
    """``store.genai_join.join_genai_events`` for a decoded batch (tests and in-process use)."""
    spans = batch.spans
    keys = pa.table(
        {
            "trace_id": pa.array(spans.trace_id, _STR),
            "span_id": pa.array(spans.span_id, _STR),
            "start_time_unix_nano": pa.array(spans.start_ns, pa.int64()),
            "parent_span_id": pa.array(spans.parent_span_id, _STR),
        }
    )
    return join_genai_events(conn, keys, pending_events(batch.logs), ChatEvents(), preview_max_chars)
