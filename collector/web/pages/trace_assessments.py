"""The assessments panel of the trace page: which assessments it lists, and how each is shown.

The panel follows the selected span (seed 001): the root span stands for the whole trace, so its
panel lists the trace-level assessments (no ``span_id``) with any made on the root span itself,
and what is created there has no ``span_id``; any other span lists and creates its own. Writes
go through the MLflow REST API from ``static/assessments.js``; this module only reads, which is
why the panel shows the same rows ``search_traces`` and SQL see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from annotrace.collector.web.page import url_path

if TYPE_CHECKING:
    from starlette.requests import Request

    from annotrace.collector.store.queries.assessments import Assessment


@dataclass(frozen=True, slots=True)
class AssessmentView:
    assessment_id: str
    name: str
    kind: str  # feedback | expectation
    span_id: str | None
    value: Any
    value_json: str  # the value as JSON text (what the edit form starts from)
    data_type: str  # number | boolean | string | json | none (a feedback that carries an error)
    rationale: str | None
    source_type: str
    source_id: str | None
    error_code: str | None
    error_message: str | None
    metadata: dict[str, str]
    create_time: datetime
    last_update_time: datetime
    valid: bool
    overrides: str | None
    overridden_by: list[str]


@dataclass(frozen=True, slots=True)
class AssessmentPanel:
    trace_id: str
    span_id: str | None  # None: the whole trace (the root span is selected, or there is no span)
    span_name: str | None
    assessments: list[AssessmentView]
    login_path: str  # /login?next=... bringing the user back to this span


def data_type(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "json"


def _view(a: Assessment, overridden_by: list[str]) -> AssessmentView:
    error = a.error
    return AssessmentView(
        a.assessment_id,
        a.name,
        a.kind,
        a.span_id,
        a.value,
        orjson.dumps(a.value).decode(),
        data_type(a.value),
        a.rationale,
        a.source_type,
        a.source_id,
        error.error_code if error else None,
        error.error_message if error else None,
        a.metadata,
        a.create_time,
        a.last_update_time,
        a.valid,
        a.overrides,
        overridden_by,
    )


def panel(
    request: Request,
    trace_id: str,
    assessments: list[Assessment],
    *,
    span_id: str | None,
    span_name: str | None,
    root_span_id: str | None,
) -> AssessmentPanel:
    """The panel for ``span_id``; the root span (or no span) means the whole trace."""
    trace_level = span_id is None or span_id == root_span_id
    if trace_level:
        shown = [a for a in assessments if a.span_id is None or (root_span_id and a.span_id == root_span_id)]
    else:
        shown = [a for a in assessments if a.span_id == span_id]
    overriders: dict[str, list[str]] = {}
    for a in assessments:
        if a.overrides is not None:
            overriders.setdefault(a.overrides, []).append(a.assessment_id)
    here = url_path(request, "trace", trace_id=trace_id) + ("" if span_id is None else f"?span={span_id}")
    return AssessmentPanel(
        trace_id,
        None if trace_level else span_id,
        span_name,
        [_view(a, overriders.get(a.assessment_id, [])) for a in shown],
        url_path(request, "login") + "?next=" + quote(here, safe=""),
    )
