"""An assessment as the columns it is stored in: ``value_columns`` (the value as JSON, plus the
``value_label``/``value_number`` shadow columns that make filters cheap) and ``snapshot`` (the whole
row as JSON, what ``assessment_history`` and the audit trail keep).

Why apart from ``assessments.py``: ``store/evaluations.py`` writes assessment rows in bulk and uses
the same encoding, without the reads and writer jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from annotrace.collector.store.queries.assessments import Assessment


def value_columns(value: Any) -> tuple[str | None, str | None, float | None]:
    """(value JSON, value_label, value_number): the shadow columns that make filters cheap."""
    if value is None:
        return None, None, None
    text = orjson.dumps(value).decode()
    if isinstance(value, bool):
        return text, text, 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return text, text, float(value)
    if isinstance(value, str):
        return text, value, None
    return text, text, None


def snapshot(a: Assessment) -> dict[str, Any]:
    """The ``assessments`` row of ``a`` as a JSON-ready dict (what ``assessment_history`` keeps)."""
    _, label, number = value_columns(a.value)
    error = a.error
    return {
        "assessment_id": a.assessment_id,
        "trace_id": a.trace_id,
        "span_id": a.span_id,
        "assessment_name": a.name,
        "kind": a.kind,
        "value": a.value,
        "value_label": label,
        "value_number": number,
        "rationale": a.rationale,
        "source_type": a.source_type,
        "source_id": a.source_id,
        "error_code": error and error.error_code,
        "error_message": error and error.error_message,
        "error_stack_trace": error and error.stack_trace,
        "metadata": a.metadata,
        "create_time": a.create_time.isoformat(),
        "last_update_time": a.last_update_time.isoformat(),
        "overrides": a.overrides,
        "valid": a.valid,
        "version": a.version,
    }
