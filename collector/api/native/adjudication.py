"""Native adjudication routes: the items where a session's labelers disagree
(``GET /api/v1/labeling/sessions/{session_id}/adjudication``) and recording the gold label of one
(``POST .../items/{trace_id}/gold``). The rules live in ``store/queries/review_adjudication.py``;
the /agreement/{session_id}/adjudicate page uses the same store functions.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.assessment_json import assessment_json
from annotrace.collector.api.mlflow.wire import json_body, ok, path_trace_id
from annotrace.collector.api.models import Number, Text, parse, request_body
from annotrace.collector.api.native.labeling import session_path_id
from annotrace.collector.api.native.openapi_operation import path_parameter, query_parameters, responses
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import review_adjudication

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_RATIONALE_CHARS = 64 * 1024


class GoldBody(TypedDict):
    """``POST .../items/{trace_id}/gold``: who adjudicates, which schema, the gold value."""

    user: Annotated[str, Text(max_chars=250, non_empty=True)]
    schema: Annotated[str, Text(max_chars=250, non_empty=True)]
    value: Any
    rationale: NotRequired[Annotated[str, Text(max_chars=MAX_RATIONALE_CHARS)] | None]


class DisputeParams(TypedDict):
    threshold: NotRequired[Annotated[float, Number()] | None]
    unresolved: NotRequired[
        Annotated[str, Text(choices=("true", "false"), documented={"description": "only disputes without gold"})] | None
    ]


class AnswerJson(TypedDict):
    labeler: str
    value: Any
    rationale: str | None
    assessment_id: str


class GoldJson(TypedDict):
    assessment_id: str
    value: Any
    adjudicator: str | None
    rationale: str | None


class DisputeJson(TypedDict):
    trace_id: str
    source_trace_id: str
    schema: str
    answers: list[AnswerJson]
    gold: GoldJson | None


class DisputeList(TypedDict):
    disputes: list[DisputeJson]


class GoldSaved(TypedDict):
    assessment: Annotated[dict[str, Any], Field(description="the gold assessment, in MLflow's JSON")]


def dispute_json(d: review_adjudication.Dispute) -> DisputeJson:
    return {
        "trace_id": d.trace_id,
        "source_trace_id": d.source_trace_id,
        "schema": d.schema,
        "answers": [
            {"labeler": a.labeler, "value": a.value, "rationale": a.rationale, "assessment_id": a.assessment_id}
            for a in d.answers
        ],
        "gold": None
        if d.gold is None
        else {
            "assessment_id": d.gold.assessment_id,
            "value": d.gold.value,
            "adjudicator": d.gold.adjudicator,
            "rationale": d.gold.rationale,
        },
    }


async def list_disputes(access: Access, request: Request) -> Response:
    """``?threshold=`` (numeric spread that counts as disagreement, default 0), ``?unresolved=true``."""
    params = parse_query(DisputeParams, request.query_params)
    threshold, unresolved = params.get("threshold") or 0.0, params.get("unresolved") == "true"
    found = await access.read(
        review_adjudication.disagreements, session_path_id(request), threshold, include_resolved=not unresolved
    )
    answer: DisputeList = {"disputes": [dispute_json(d) for d in found]}
    return ok(answer)


async def record_gold(access: Access, request: Request) -> Response:
    """``{"user", "schema", "value", "rationale"?}``: the adjudicator's gold label."""
    session_id, trace_id = session_path_id(request), path_trace_id(request)
    body = parse(GoldBody, await json_body(request))
    stored = await access.write(
        partial(
            review_adjudication.record_gold,
            session_id=session_id,
            trace_id=trace_id,
            schema_name=body["schema"],
            adjudicator=body["user"],
            value=body["value"],
            rationale=body.get("rationale"),
            now=now_ms(),
        )
    )
    saved: GoldSaved = {"assessment": assessment_json(stored)}
    return ok(saved)


_SESSION = path_parameter("session_id")
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/labeling/sessions/{session_id}/adjudication": {
        "get": {
            "summary": "The adjudication queue: items and schemas on which the labelers disagree (numeric: spread above "
            "threshold), every answer with its rationale, and the gold label once recorded",
            "parameters": [_SESSION, *query_parameters(DisputeParams)],
            "responses": responses(DisputeList, 400, 404),
        }
    },
    "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/gold": {
        "post": {
            "summary": "Record the gold label of one schema on one item: an assessment overriding the labelers' answer "
            "(nothing deleted); again, it updates the gold label",
            "parameters": [_SESSION, path_parameter("trace_id")],
            "requestBody": request_body(GoldBody),
            "responses": responses(GoldSaved, 400, 404),
        }
    },
}
