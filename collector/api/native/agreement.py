"""Native agreement routes: ``GET /api/v1/agreement/{session_id}`` (labelers with each other, for a
labeling session or review queue) and ``GET /api/v1/agreement/judges`` (LLM/code judges against
the humans). MLflow has neither (open requests #22948 and #22947), so these are ours, described
in ``OPENAPI_PATHS``. The figures and their JSON come from ``store/queries/agreement.py`` and
``agreement_judges.py`` (``report_json``, ``judges_json``), which the /agreement page renders too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import ok
from annotrace.collector.api.models import Text
from annotrace.collector.api.native.openapi_operation import path_parameter, query_parameters, responses
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import agreement, agreement_judges

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


class JudgeParams(TypedDict):
    """Needs ``experiment_id`` or ``session_id`` (else 400), which a document cannot say."""

    name: Annotated[str, Text(max_chars=250, non_empty=True, documented={"description": "the feedback name"})]
    experiment_id: NotRequired[Annotated[str, Text()] | None]
    session_id: NotRequired[Annotated[str, Text()] | None]


class Estimate(TypedDict):
    """A figure and its bootstrap 95% interval; null where undefined."""

    value: float | None
    low: float | None
    high: float | None


_ESTIMATE = Field(description="a figure and its bootstrap 95% interval; null where undefined")


class SchemaAgreement(TypedDict):
    schema: str
    input_type: str
    level: Annotated[str, Field(json_schema_extra={"enum": ["nominal", "interval", "set", "text"]})]
    items: int
    labelers: int
    answers: int
    alpha: Annotated[Estimate, _ESTIMATE]
    cohen_kappa: Annotated[Estimate, _ESTIMATE]
    fleiss_kappa: Annotated[Estimate, _ESTIMATE]
    percent_agreement: Annotated[Estimate, _ESTIMATE]
    categories: Annotated[list[str], Field(description="the confusion matrix's rows and columns")]
    confusion: list[list[int]]


class Report(TypedDict):
    """What ``store/queries/agreement.report_json`` answers (also rendered by the /agreement page)."""

    session_id: str
    name: str
    experiment_id: str
    queue_type: str | None
    schemas: list[SchemaAgreement]
    labelers: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]


class JudgeAgreement(TypedDict):
    name: str
    source_type: str
    source_id: str
    traces: Annotated[int, Field(description="traces with both this judge's value and a human answer")]
    level: Annotated[str, Field(json_schema_extra={"enum": ["nominal", "interval"]})]
    kappa: Annotated[Estimate, _ESTIMATE]
    alpha: Annotated[Estimate, _ESTIMATE]
    accuracy: Annotated[Estimate, _ESTIMATE]
    categories: Annotated[list[str], Field(description="the confusion matrix's rows and columns")]
    confusion: list[list[int]]
    disagreeing_trace_ids: list[str]


class JudgeList(TypedDict):
    """What ``store/queries/agreement_judges.judges_json`` answers."""

    judges: list[JudgeAgreement]


async def session_agreement(access: Access, request: Request) -> Response:
    return ok(agreement.report_json(await access.read(agreement.report, str(request.path_params["session_id"]))))


async def judge_agreement(access: Access, request: Request) -> Response:
    """``?name=<feedback name>`` (required), ``&experiment_id=`` and/or ``&session_id=`` to narrow."""
    params = parse_query(JudgeParams, request.query_params)
    name, experiment_id, session_id = params["name"], params.get("experiment_id"), params.get("session_id")
    if experiment_id is None and session_id is None:
        raise InvalidParameter("Missing value for parameter 'experiment_id': give experiment_id or session_id.")
    rows = await access.read(agreement_judges.judges, name, experiment_id=experiment_id, session_id=session_id)
    return ok(agreement_judges.judges_json(rows))


_ERRORS = (400, 404)


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/agreement/{session_id}": {
        "get": {
            "summary": "Agreement between the labelers of a labeling session or review queue: per label schema "
            "(Krippendorff's alpha at the schema's level of measurement, Cohen's kappa for two labelers, "
            "Fleiss' kappa, percent agreement, each with a bootstrap 95% interval; a confusion matrix for "
            "nominal schemas), per labeler (items, median seconds per item, agreement with the others, "
            "leniency) and the items with the most disagreement",
            "parameters": [path_parameter("session_id")],
            "responses": responses(Report, *_ERRORS),
        }
    },
    "/api/v1/agreement/judges": {
        "get": {
            "summary": "Judges against humans for one feedback name: one row per LLM_JUDGE/CODE source_id, on the "
            "traces that also have a HUMAN value: kappa (nominal) or alpha, accuracy, confusion matrix and "
            "the disagreeing trace ids. Needs experiment_id or session_id (else 400)",
            "parameters": query_parameters(JudgeParams),
            "responses": responses(JudgeList, *_ERRORS),
        }
    },
}
