"""A batch -> the store's Arrow tables (``StoreTables``), with the GenAI readings the store keeps.

``stage`` is pure and its result is only Arrow and plain tuples, so it runs in the decode worker
processes and crosses back to the writer cheaply (Arrow pickles as buffers). The table layout is
the store's (``store/rows.py``); which records are evaluation results or GenAI chat events is
read here, so the store never parses a convention.
"""

from __future__ import annotations

from annotrace.collector.genai.evaluations import evaluation_table
from annotrace.collector.genai.log_events import pending_events
from annotrace.collector.store.rows import (
    StoreTables,
    document_table,
    event_table,
    link_table,
    log_table,
    message_table,
    span_table,
    trace_extras,
)
from annotrace.collector.telemetry import Batch


def stage(batch: Batch) -> StoreTables:
    out = StoreTables()
    spans = batch.spans
    if len(spans):
        spans.canonical_defaults()
        out.spans = span_table(spans, spans.experiment)
        out.events = event_table(spans) if spans.events else None
        out.links = link_table(spans) if spans.links else None
        out.documents = document_table(spans) if spans.documents else None
        out.messages = message_table(spans) if spans.messages else None
        out.extras = trace_extras(spans)
    if len(batch.logs):
        out.logs = log_table(batch.logs, batch.logs.experiment)
        out.genai_events = pending_events(batch.logs)
    out.assessments = evaluation_table(batch)
    return out
