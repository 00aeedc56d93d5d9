"""The OpenAPI 3.1 description of the native API (``/api/v1/...``), served at
``GET /api/v1/openapi.json``. MLflow-compatible routes (``/api/2.0``, ``/api/3.0``, ``/ajax-api``)
keep MLflow's paths and shapes and are documented by MLflow; only routes MLflow lacks are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector import __version__
from annotrace.collector.api.mlflow.wire import ok
from annotrace.collector.api.models import request_body
from annotrace.collector.api.native.adjudication import OPENAPI_PATHS as ADJUDICATION_PATHS
from annotrace.collector.api.native.agreement import OPENAPI_PATHS as AGREEMENT_PATHS
from annotrace.collector.api.native.labeling_openapi import OPENAPI_PATHS as LABELING_PATHS
from annotrace.collector.api.native.openapi_operation import (
    path_parameter,
    query_parameters,
    response_schema,
    responses,
)
from annotrace.collector.api.native.routing_rules import OPENAPI_PATHS as ROUTING_RULE_PATHS
from annotrace.collector.api.native.sql import QueryAnswer, QueryBody
from annotrace.collector.api.native.traces import AssessmentHistory, AssessmentList, AssessmentListParams, SpanList
from annotrace.collector.api.native.users import OPENAPI_PATHS as USER_PATHS

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


class Health(TypedDict):
    """``GET /api/v1/health`` (``app.web_app`` builds it)."""

    status: Literal["ok", "unavailable"]
    version: str
    reason: NotRequired[Annotated[str, Field(description="why exports are refused (only when unavailable)")]]
    failing_since: NotRequired[
        Annotated[float | None, Field(description="Unix time the pipeline started failing (only when unavailable)")]
    ]
    backlog_bytes: int | None
    unstored_records: Annotated[
        int | None, Field(description="acknowledged records not stored yet (they wait in the spool)")
    ]
    stored_items: int | None
    dead_letters: int | None
    set_aside_bytes: Annotated[
        int | None, Field(description="damaged spool bytes moved to dead-letter/ at the last start")
    ]
    set_aside_records: int | None


_TRACE_ID = path_parameter("trace_id", "tr- + 32 hex (tr- optional)")
_HEALTH = response_schema(Health)

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "annotrace native API",
        "version": __version__,
        "description": "Routes MLflow has no equivalent for. MLflow-compatible routes live under /api/2.0/mlflow, "
        "/api/3.0/mlflow and /ajax-api/... with MLflow's shapes. Errors are "
        '{"error_code", "message"} with MLflow\'s codes.',
    },
    "paths": {
        "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": responses({"type": "object"})}},
        "/api/v1/health": {
            "get": {
                "summary": "Liveness and pipeline backlog; 503 (status unavailable, with the reason) while exports "
                "are refused because the collector cannot store them, e.g. on a full disk",
                "responses": {
                    **responses(_HEALTH),
                    "503": {
                        "description": "Exports are refused until the collector can store again (it retries by itself)",
                        "content": {"application/json": {"schema": _HEALTH}},
                    },
                },
            }
        },
        "/api/v1/sql": {
            "post": {
                "summary": "Run one read-only SQL query (SELECT, WITH, EXPLAIN, DESCRIBE, SHOW) in the sandbox",
                "description": "With authentication on, any signed-in user may query; a non-admin sees only the "
                "rows of the experiments they may READ, and tables without an experiment (users, audit_log...) "
                "do not exist for them.",
                "requestBody": request_body(QueryBody),
                "responses": responses(
                    QueryAnswer,
                    400,
                    413,
                    errors={
                        413: "PAYLOAD_TOO_LARGE: the query needs more memory, or answers more bytes, than "
                        "the collector's sql limits allow (extensions::web::sql)"
                    },
                ),
            }
        },
        "/api/v1/traces/{trace_id}/assessments": {
            "get": {
                "summary": "All assessments of a trace as flat rows, oldest first",
                "parameters": [_TRACE_ID, *query_parameters(AssessmentListParams)],
                "responses": responses(AssessmentList, 400, 404),
            }
        },
        "/api/v1/traces/{trace_id}/assessments/{assessment_id}/history": {
            "get": {
                "summary": "Every version of one assessment (create, update, invalidate, restore, delete), oldest first",
                "parameters": [_TRACE_ID, path_parameter("assessment_id")],
                "responses": responses(AssessmentHistory, 404),
            }
        },
        "/api/v1/traces/{trace_id}/spans": {
            "get": {
                "summary": "The spans of a trace as MLflow Span.to_dict() objects (base64 ids, attribute values as JSON "
                "text), as the search_traces DataFrame's spans column holds them",
                "parameters": [_TRACE_ID],
                "responses": responses(SpanList, 404),
            }
        },
        **LABELING_PATHS,
        **AGREEMENT_PATHS,
        **ADJUDICATION_PATHS,
        **ROUTING_RULE_PATHS,
        **USER_PATHS,
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error_code", "message"],
                "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
            }
        }
    },
}


async def openapi_json(request: Request) -> Response:
    return ok(SPEC)
