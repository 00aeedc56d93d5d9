"""Native agreement routes: ``GET /api/v1/agreement/{session_id}`` (labelers with each other, for a
labeling session or review queue) and ``GET /api/v1/agreement/judges`` (LLM/code judges against
the humans). MLflow has neither (open requests #22948 and #22947), so these are ours, described
in ``OPENAPI_PATHS``. The figures and their JSON come from ``store/queries/agreement.py`` and
``agreement_judges.py`` (``report_json``, ``judges_json``), which the /agreement page renders too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.api.mlflow.wire import ok, query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import agreement, agreement_judges

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


async def session_agreement(access: Access, request: Request) -> Response:
    return ok(agreement.report_json(await access.read(agreement.report, str(request.path_params["session_id"]))))


async def judge_agreement(access: Access, request: Request) -> Response:
    """``?name=<feedback name>`` (required), ``&experiment_id=`` and/or ``&session_id=`` to narrow."""
    params = query(request)
    name = params.get_str("name", required=True, max_chars=250)
    assert name is not None
    experiment_id, session_id = params.get_str("experiment_id"), params.get_str("session_id")
    if experiment_id is None and session_id is None:
        raise InvalidParameter("Missing value for parameter 'experiment_id': give experiment_id or session_id.")
    rows = await access.read(agreement_judges.judges, name, experiment_id=experiment_id, session_id=session_id)
    return ok(agreement_judges.judges_json(rows))


_EST = {
    "type": "object",
    "description": "a figure and its bootstrap 95% interval; null where undefined",
    "properties": {
        "value": {"type": ["number", "null"]},
        "low": {"type": ["number", "null"]},
        "high": {"type": ["number", "null"]},
    },
}
_ERRORS = {
    str(code): {
        "description": "MLflow error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code in (400, 404)
}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}, **_ERRORS}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/agreement/{session_id}": {
        "get": {
            "summary": "Agreement between the labelers of a labeling session or review queue: per label schema "
            "(Krippendorff's alpha at the schema's level of measurement, Cohen's kappa for two labelers, "
            "Fleiss' kappa, percent agreement, each with a bootstrap 95% interval; a confusion matrix for "
            "nominal schemas), per labeler (items, median seconds per item, agreement with the others, "
            "leniency) and the items with the most disagreement",
            "parameters": [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": _ok(
                "the report",
                {
                    "type": "object",
                    "properties": {
                        "session_id": {"type": "string"},
                        "name": {"type": "string"},
                        "schemas": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "schema": {"type": "string"},
                                    "level": {"enum": ["nominal", "interval", "set", "text"]},
                                    "alpha": _EST,
                                    "cohen_kappa": _EST,
                                    "fleiss_kappa": _EST,
                                    "percent_agreement": _EST,
                                },
                            },
                        },
                        "labelers": {"type": "array", "items": {"type": "object"}},
                        "disagreements": {"type": "array", "items": {"type": "object"}},
                    },
                },
            ),
        }
    },
    "/api/v1/agreement/judges": {
        "get": {
            "summary": "Judges against humans for one feedback name: one row per LLM_JUDGE/CODE source_id, on the "
            "traces that also have a HUMAN value: kappa (nominal) or alpha, accuracy, confusion matrix and "
            "the disagreeing trace ids. Needs experiment_id or session_id (else 400)",
            "parameters": [
                {
                    "name": "name",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 250, "pattern": r"\S"},
                },
                *({"name": n, "in": "query", "schema": {"type": "string"}} for n in ("experiment_id", "session_id")),
            ],
            "responses": _ok(
                "one row per judge",
                {"type": "object", "properties": {"judges": {"type": "array", "items": {"type": "object"}}}},
            ),
        }
    },
}
