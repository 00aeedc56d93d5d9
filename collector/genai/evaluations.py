"""Evaluation results sent over OTLP -> staged ``assessments`` rows (pure; runs in decode workers).

Judges and eval harnesses report scores as OTel ``gen_ai.evaluation.result`` events, either as log
records (``event_name``, or the deprecated ``event.name`` attribute) or as span events, and
OpenInference instrumentations as ``annotations.{i}.annotation.*`` / ``evaluations.{i}.evaluation.*``
span attributes. Each one becomes a *feedback* assessment, so the MLflow REST API, trace search
filters (``feedback.<name>``) and the ``assessment_events`` view see it like a REST-created one.

Mapping (OTel attribute -> assessments column):

    gen_ai.evaluation.name          -> assessment_name (required: records without it are skipped)
    gen_ai.evaluation.score.value   -> value when it is a number (or a numeric string)
    gen_ai.evaluation.score.label   -> value otherwise (else metadata), kept as the string it is: "true"/"pass"
                                       are not turned into booleans (the convention types the label
                                       as a string; value_label is "true" either way, so string
                                       filters match both)
    gen_ai.evaluation.explanation   -> rationale
    error.type                      -> error_code (the evaluation failed)
    annotrace.assessment.source_type, annotator_kind  -> source_type (HUMAN, LLM_JUDGE, CODE; OpenInference
                                       LLM -> LLM_JUDGE; unknown kinds -> SOURCE_TYPE_UNSPECIFIED);
                                       default LLM_JUDGE: these events are what automated judges emit,
                                       humans annotate through the REST API
    annotrace.assessment.source_id, gen_ai.evaluation.evaluator  -> source_id
    annotrace.assessment.trace_id / .span_id  -> target, overriding the carrier (below)
    every other attribute           -> metadata, values as strings (JSON for non-strings), plus
                                       annotrace.ingested_from = otel.log_record / otel.span_event /
                                       openinference.span
    event time                      -> create_time = last_update_time (millisecond precision)

Target: a log record's trace_id/span_id (no span_id: a trace-level assessment; no trace_id: skipped,
``gen_ai.response.id`` correlation is not done); a span event's own span, except on an OpenInference
EVALUATOR carrier span with exactly one link, where the linked span is the target. OpenInference
annotations are read from spans carrying ``openinference.span.kind`` (required by that spec);
trace-scope ones (``trace.annotations...``) become trace-level assessments, session-scope ones are
skipped (MLflow has no session assessments).

Ids are ``a-`` + 32 hex of a hash of where the result came from (the log record's content hash, or
trace/span/event position), so a retried export or a spool replay yields the same rows, which the
writer then ignores. The only impurity is the clock, read for a log record that carries neither a
time nor an observed time (the first write wins; a replay is ignored anyway).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from typing import Any

import orjson
import pyarrow as pa

from annotrace.collector.ids import ASSESSMENT_PREFIX
from annotrace.collector.telemetry import Batch, LogBatch, SpanBatch

EVENT = "gen_ai.evaluation.result"
NAME, SCORE, LABEL = "gen_ai.evaluation.name", "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label"
EXPLANATION, ERROR = "gen_ai.evaluation.explanation", "error.type"
SOURCE_TYPE_KEYS = ("annotrace.assessment.source_type", "annotator_kind")
SOURCE_ID_KEYS = ("annotrace.assessment.source_id", "gen_ai.evaluation.evaluator")
TARGET_TRACE, TARGET_SPAN = "annotrace.assessment.trace_id", "annotrace.assessment.span_id"
ORIGIN = "annotrace.ingested_from"
SOURCE_TYPES = {
    "HUMAN": "HUMAN",
    "LLM_JUDGE": "LLM_JUDGE",
    "LLM": "LLM_JUDGE",
    "CODE": "CODE",
    "SOURCE_TYPE_UNSPECIFIED": "SOURCE_TYPE_UNSPECIFIED",
}
DEFAULT_SOURCE_TYPE = "LLM_JUDGE"
_CONSUMED = {
    NAME,
    SCORE,
    LABEL,
    EXPLANATION,
    ERROR,
    TARGET_TRACE,
    TARGET_SPAN,
    "event.name",
    *SOURCE_TYPE_KEYS,
    *SOURCE_ID_KEYS,
}
# OpenInference span attributes: [trace.](annotations|evaluations).<i>.(annotation|evaluation).<field>
_OPENINFERENCE = re.compile(r"^(trace\.)?(annotations\.(\d+)\.annotation|evaluations\.(\d+)\.evaluation)\.(\w+)$")
_OI_PREFIXES = ("annotations.", "evaluations.", "trace.annotations.", "trace.evaluations.")
_OI_FIELDS = {
    "name": NAME,
    "score": SCORE,
    "label": LABEL,
    "explanation": EXPLANATION,
    "annotator_kind": "annotator_kind",
}
_STR = pa.string()

SCHEMA = pa.schema(
    [
        ("assessment_id", _STR),
        ("trace_id", _STR),
        ("span_id", _STR),
        ("assessment_name", _STR),
        ("value", _STR),
        ("rationale", _STR),
        ("source_type", _STR),
        ("source_id", _STR),
        ("error_code", _STR),
        ("metadata", _STR),
        ("time", pa.timestamp("ms")),
    ]
)
Row = tuple[str, str, str | None, str, str | None, str | None, str, str | None, str | None, str, int]
"""A staged assessment: id, trace, span, name, value JSON, rationale, source type, source id,
error code, metadata JSON, time in ms."""


def evaluation_table(batch: Batch) -> pa.Table | None:
    """Every evaluation result in ``batch`` as one staged row per assessment, or None."""
    rows: dict[str, Row] = {}  # by id: a span or record sent twice in one batch stays one row
    if len(batch.logs):
        _from_logs(batch.logs, rows)
    if len(batch.spans):
        _from_spans(batch.spans, rows)
    if not rows:
        return None
    columns = list(zip(*rows.values()))
    return pa.table([pa.array(c, f.type) for c, f in zip(columns, SCHEMA)], schema=SCHEMA)


def assessment_id(*parts: str) -> str:
    """``a-`` + 32 hex, derived from where the result came from (stable across retries)."""
    return ASSESSMENT_PREFIX + hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _from_logs(logs: LogBatch, rows: dict[str, Row]) -> None:
    for i, name in enumerate(logs.event_name):
        trace_id = logs.trace_id[i]
        if name != EVENT or not trace_id:
            continue
        time_ns = logs.time_ns[i] or logs.observed_ns[i] or time.time_ns()
        row = to_row(
            assessment_id("otel.log_record", logs.record_id[i]),
            trace_id,
            logs.span_id[i],
            logs.attributes[i],
            time_ns,
            "otel.log_record",
        )
        if row is not None:
            rows[row[0]] = row


def _from_spans(spans: SpanBatch, rows: dict[str, Row]) -> None:
    links: dict[int, list[tuple[str, str]]] = {}
    for link in spans.links:
        links.setdefault(link[0], []).append((link[2], link[3]))
    for index, position, time_ns, name, attrs in spans.events:
        if name != EVENT:
            continue
        trace_id, span_id = _target(spans, index, links)
        key = assessment_id("otel.span_event", spans.trace_id[index], spans.span_id[index], str(position))
        row = to_row(
            key, trace_id, span_id, attrs, time_ns or spans.end_ns[index] or spans.start_ns[index], "otel.span_event"
        )
        if row is not None:
            rows[row[0]] = row
    for index, attrs in enumerate(spans.attributes):
        # every OpenInference span has its kind: one dict probe spares the key scan on all others
        found = _openinference(attrs) if "openinference.span.kind" in attrs else None
        if not found:
            continue
        trace_id, span_id = _target(spans, index, links)
        for (trace_scope, family), fields in sorted(found.items()):
            scope = "trace." if trace_scope else ""
            key = assessment_id("openinference.span", spans.trace_id[index], spans.span_id[index], scope + family)
            row = to_row(
                key,
                trace_id,
                None if trace_scope else span_id,
                fields,
                spans.end_ns[index] or spans.start_ns[index],
                "openinference.span",
            )
            if row is not None:
                rows[row[0]] = row


def _target(spans: SpanBatch, index: int, links: dict[int, list[tuple[str, str]]]) -> tuple[str, str]:
    """The assessed span: the carrier itself, or the one link of an OpenInference EVALUATOR carrier."""
    own = links.get(index, [])
    span_type = spans.span_type[index] if index < len(spans.span_type) else None
    evaluator = "EVALUATOR" in (span_type, spans.attributes[index].get("openinference.span.kind"))
    if evaluator and len(own) == 1:
        return own[0]
    return spans.trace_id[index], spans.span_id[index]


def _openinference(attrs: dict[str, Any]) -> dict[tuple[bool, str], dict[str, Any]]:
    """OpenInference annotation objects, keyed by (trace scope?, family + index), fields renamed
    to the OTel attributes; their ``identifier`` and ``metadata`` go to metadata."""
    found: dict[tuple[bool, str], dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(_OI_PREFIXES):  # cheap test first: most spans have none
            continue
        match = _OPENINFERENCE.match(key)
        if match is None:
            continue
        fields = found.setdefault((match[1] is not None, match[2]), {})
        field = match[5]
        if field == "metadata" and isinstance(value, str):
            try:
                extra = orjson.loads(value)
            except orjson.JSONDecodeError:
                extra = None
            if isinstance(extra, dict):
                fields.update({f"metadata.{k}": v for k, v in extra.items()})
                continue
        fields[_OI_FIELDS.get(field, field)] = value
    return found


def to_row(
    key: str, trace_id: str, span_id: str | None, attrs: dict[str, Any], time_ns: int, origin: str
) -> Row | None:
    """One evaluation's attributes -> a staged row; None without a name or anything to say."""
    name = attrs.get(NAME)
    if not isinstance(name, str) or not name:
        return None
    target_trace, target_span = attrs.get(TARGET_TRACE), attrs.get(TARGET_SPAN)
    if isinstance(target_trace, str) and target_trace:
        trace_id = target_trace if target_trace.startswith("tr-") else "tr-" + target_trace
        span_id = None
    if isinstance(target_span, str) and target_span:
        span_id = target_span
    value = _value(attrs.get(SCORE), attrs.get(LABEL))
    explanation, error = attrs.get(EXPLANATION), attrs.get(ERROR)
    if value is None and explanation is None and error is None:
        return None
    metadata = {
        k: v if isinstance(v, str) else orjson.dumps(v, default=str).decode()
        for k, v in attrs.items()
        if k not in _CONSUMED
    }
    source_type = DEFAULT_SOURCE_TYPE
    for source_key in SOURCE_TYPE_KEYS:
        if (given := attrs.get(source_key)) is not None:
            source_type = SOURCE_TYPES.get(str(given).upper(), "SOURCE_TYPE_UNSPECIFIED")
            if source_type == "SOURCE_TYPE_UNSPECIFIED":
                metadata[source_key] = str(given)  # a custom kind is kept, not lost
            break
    source_id = next((str(attrs[k]) for k in SOURCE_ID_KEYS if attrs.get(k) is not None), None)
    label = attrs.get(LABEL)
    if label is not None and not isinstance(value, str):  # the score won: the label is kept, not lost
        metadata[LABEL] = label if isinstance(label, str) else orjson.dumps(label, default=str).decode()
    metadata[ORIGIN] = origin
    return (
        key,
        trace_id,
        span_id or None,
        name,
        None if value is None else orjson.dumps(value).decode(),
        None if explanation is None else str(explanation),
        source_type,
        source_id,
        None if error is None else str(error),
        orjson.dumps(metadata).decode(),
        time_ns // 1_000_000,
    )


def _value(score: Any, label: Any) -> Any:
    """score.value when it is a finite number (numeric strings too), else the label."""
    if isinstance(score, bool):
        return score
    if isinstance(score, str):
        try:
            score = float(score)
        except ValueError:
            score = None
    if isinstance(score, (int, float)) and math.isfinite(score):
        return score
    if isinstance(label, str):
        return label
    return None if label is None else orjson.dumps(label, default=str).decode()
