"""Native trace routes where MLflow has nothing: a trace's assessments as a flat list (what the
Review App and scripts want: one object per row, the columns of the ``assessments`` table), the
full history of one assessment, and a trace's spans in MLflow's ``Span.to_dict()`` form (what
``search_traces`` puts in its ``spans`` column; MLflow's own ``GET /traces/get`` sends OTel proto
JSON instead). Described in ``openapi.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.api.mlflow.trace_json import span_dicts
from annotrace.collector.api.mlflow.wire import invalid, ok, path_trace_id, query, rfc3339
from annotrace.collector.store.queries import assessments, traces

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


def flat(a: assessments.Assessment) -> dict[str, Any]:
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
    raw = query(request).get_str("valid_only") or "false"
    if raw not in ("true", "false"):
        raise invalid("valid_only", "'true' or 'false'", raw)
    found = await access.read(assessments.of_trace, trace_id, valid_only=raw == "true")
    return ok({"trace_id": trace_id, "assessments": [flat(a) for a in found]})


async def assessment_history(access: Access, request: Request) -> Response:
    """``GET /api/v1/traces/{trace_id}/assessments/{assessment_id}/history``: every version, oldest first."""
    trace_id = path_trace_id(request)
    assessment_id = request.path_params["assessment_id"]
    entries = await access.read(assessments.history, trace_id, assessment_id)
    return ok(
        {
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
    )


async def span_list(access: Access, request: Request) -> Response:
    """``GET /api/v1/traces/{trace_id}/spans``: ``{"trace_id", "spans": [Span.to_dict()]}``."""
    trace_id = path_trace_id(request)
    _, _, spans = await access.read(traces.get_with_spans, trace_id)
    return ok({"trace_id": trace_id, "spans": span_dicts(trace_id, spans)})
