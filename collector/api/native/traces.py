"""Native trace routes where MLflow has nothing: a trace's assessments as a flat list (what the
Review App and scripts want: one object per row, the columns of the ``assessments`` table), the
full history of one assessment, and a trace's spans in MLflow's ``Span.to_dict()`` form (what
``search_traces`` puts in its ``spans`` column; MLflow's own ``GET /traces/get`` sends OTel proto
JSON instead). Described in ``openapi.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.trace_json import span_dicts
from annotrace.collector.api.mlflow.wire import ok, path_trace_id, rfc3339
from annotrace.collector.api.models import Text, Timestamp
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.store.queries import assessments, traces

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


def _enum(*values: str) -> Any:
    """A string the store only ever writes as one of ``values`` (said in the document)."""
    return Field(json_schema_extra={"enum": list(values)})


class AssessmentListParams(TypedDict):
    valid_only: NotRequired[
        Annotated[str, Text(choices=("true", "false"), documented={"description": "only assessments not overridden"})]
        | None
    ]


class AssessmentRow(TypedDict):
    """One assessment, with the columns of the SQL table ``assessments``."""

    assessment_id: str
    trace_id: str
    span_id: str | None
    assessment_name: str
    kind: Literal["feedback", "expectation"]
    value: Annotated[Any, Field(description="any JSON value, null for a feedback with an error")]
    rationale: str | None
    source_type: Annotated[str, _enum("HUMAN", "LLM_JUDGE", "CODE", "SOURCE_TYPE_UNSPECIFIED")]
    source_id: str | None
    error_code: str | None
    error_message: str | None
    error_stack_trace: str | None
    metadata: dict[str, str]
    create_time: Timestamp
    last_update_time: Timestamp
    overrides: str | None
    valid: bool
    version: Annotated[int, Field(description="1 at creation, one more per change")]


class AssessmentList(TypedDict):
    trace_id: str
    assessments: list[AssessmentRow]


class HistoryEntry(TypedDict):
    version: int
    operation: Annotated[str, _enum("create", "update", "invalidate", "restore", "delete")]
    change_time: Timestamp
    caused_by: str | None
    snapshot: Annotated[dict[str, Any], Field(description="the assessments row after the change")]


class AssessmentHistory(TypedDict):
    trace_id: str
    assessment_id: str
    history: list[HistoryEntry]


class SpanDict(TypedDict):
    """MLflow's ``Span.to_dict()``."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    events: list[Any]
    status: dict[str, Any]
    links: list[Any]
    attributes: dict[str, str]


class SpanList(TypedDict):
    trace_id: str
    spans: list[SpanDict]


def flat(a: assessments.Assessment) -> AssessmentRow:
    """One assessment with the column names of the ``assessments`` table."""
    error = a.error
    return {
        "assessment_id": a.assessment_id,
        "trace_id": a.trace_id,
        "span_id": a.span_id,
        "assessment_name": a.name,
        "kind": a.kind,
        "value": a.value,
        "rationale": a.rationale,
        "source_type": a.source_type,
        "source_id": a.source_id,
        "error_code": error.error_code if error else None,
        "error_message": error.error_message if error else None,
        "error_stack_trace": error.stack_trace if error else None,
        "metadata": a.metadata,
        "create_time": rfc3339(a.create_time),
        "last_update_time": rfc3339(a.last_update_time),
        "overrides": a.overrides,
        "valid": a.valid,
        "version": a.version,
    }


async def list_assessments(access: Access, request: Request) -> Response:
    """``GET /api/v1/traces/{trace_id}/assessments[?valid_only=true]``."""
    trace_id = path_trace_id(request)
    valid_only = parse_query(AssessmentListParams, request.query_params).get("valid_only") == "true"
    found = await access.read(assessments.of_trace, trace_id, valid_only=valid_only)
    answer: AssessmentList = {"trace_id": trace_id, "assessments": [flat(a) for a in found]}
    return ok(answer)


async def assessment_history(access: Access, request: Request) -> Response:
    """``GET /api/v1/traces/{trace_id}/assessments/{assessment_id}/history``: every version, oldest first."""
    trace_id = path_trace_id(request)
    assessment_id = request.path_params["assessment_id"]
    entries = await access.read(assessments.history, trace_id, assessment_id)
    answer: AssessmentHistory = {
        "trace_id": trace_id,
        "assessment_id": assessment_id,
        "history": [
            {
                "version": e.version,
                "operation": e.operation,
                "change_time": rfc3339(e.change_time),
                "caused_by": e.caused_by,
                "snapshot": e.snapshot,
            }
            for e in entries
        ],
    }
    return ok(answer)


async def span_list(access: Access, request: Request) -> Response:
    """``GET /api/v1/traces/{trace_id}/spans``: ``{"trace_id", "spans": [Span.to_dict()]}``."""
    trace_id = path_trace_id(request)
    _, _, spans = await access.read(traces.get_with_spans, trace_id)
    return ok({"trace_id": trace_id, "spans": span_dicts(trace_id, spans)})
