"""The OpenAPI 3.1 description of the native API (``/api/v1/...``), served at
``GET /api/v1/openapi.json``. MLflow-compatible routes (``/api/2.0``, ``/api/3.0``, ``/ajax-api``)
keep MLflow's paths and shapes and are documented by MLflow; only routes MLflow lacks are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector import __version__
from annotrace.collector.api.mlflow.wire import ok
from annotrace.collector.api.models import request_body
from annotrace.collector.api.native.adjudication import OPENAPI_PATHS as ADJUDICATION_PATHS
from annotrace.collector.api.native.agreement import OPENAPI_PATHS as AGREEMENT_PATHS
from annotrace.collector.api.native.labeling_openapi import OPENAPI_PATHS as LABELING_PATHS
from annotrace.collector.api.native.openapi_responses import responses
from annotrace.collector.api.native.routing_rules import OPENAPI_PATHS as ROUTING_RULE_PATHS
from annotrace.collector.api.native.sql import QueryBody
from annotrace.collector.api.native.users import OPENAPI_PATHS as USER_PATHS

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

_TRACE_ID = {
    "name": "trace_id",
    "in": "path",
    "required": True,
    "description": "tr- + 32 hex (tr- optional)",
    "schema": {"type": "string"},
}


_COUNT = {"type": ["integer", "null"]}
HEALTH = {
    "type": "object",
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "version": {"type": "string"},
        "reason": {"type": "string", "description": "why exports are refused (only when unavailable)"},
        "failing_since": {"type": ["number", "null"], "description": "Unix time the pipeline started failing"},
        "backlog_bytes": _COUNT,
        "stored_items": _COUNT,
        "dead_letters": _COUNT,
        "unstored_records": {**_COUNT, "description": "acknowledged records not stored yet (they wait in the spool)"},
        "set_aside_bytes": {**_COUNT, "description": "damaged spool bytes moved to dead-letter/ at the last start"},
        "set_aside_records": _COUNT,
    },
}

ASSESSMENT_ROW = {
    "type": "object",
    "description": "One assessment, with the columns of the SQL table `assessments`.",
    "properties": {
        "assessment_id": {"type": "string"},
        "trace_id": {"type": "string"},
        "span_id": {"type": ["string", "null"]},
        "assessment_name": {"type": "string"},
        "kind": {"enum": ["feedback", "expectation"]},
        "value": {"description": "any JSON value, null for a feedback with an error"},
        "rationale": {"type": ["string", "null"]},
        "source_type": {"enum": ["HUMAN", "LLM_JUDGE", "CODE", "SOURCE_TYPE_UNSPECIFIED"]},
        "source_id": {"type": ["string", "null"]},
        "error_code": {"type": ["string", "null"]},
        "error_message": {"type": ["string", "null"]},
        "error_stack_trace": {"type": ["string", "null"]},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "create_time": {"type": "string", "format": "date-time"},
        "last_update_time": {"type": "string", "format": "date-time"},
        "overrides": {"type": ["string", "null"]},
        "valid": {"type": "boolean"},
        "version": {"type": "integer", "description": "1 at creation, one more per change"},
    },
}

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
                    **responses(HEALTH),
                    "503": {
                        "description": "Exports are refused until the collector can store again (it retries by itself)",
                        "content": {"application/json": {"schema": HEALTH}},
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
                    {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "types": {"type": "array", "items": {"type": "string"}},
                            "rows": {"type": "array", "items": {"type": "array"}},
                            "truncated": {"type": "boolean"},
                        },
                    },
                    400,
                ),
            }
        },
        "/api/v1/traces/{trace_id}/assessments": {
            "get": {
                "summary": "All assessments of a trace as flat rows, oldest first",
                "parameters": [
                    _TRACE_ID,
                    {
                        "name": "valid_only",
                        "in": "query",
                        "schema": {"enum": ["true", "false"]},
                        "description": "only assessments not overridden (default false)",
                    },
                ],
                "responses": responses(
                    {
                        "type": "object",
                        "properties": {
                            "trace_id": {"type": "string"},
                            "assessments": {"type": "array", "items": ASSESSMENT_ROW},
                        },
                    },
                    400,
                    404,
                ),
            }
        },
        "/api/v1/traces/{trace_id}/assessments/{assessment_id}/history": {
            "get": {
                "summary": "Every version of one assessment (create, update, invalidate, restore, delete), oldest first",
                "parameters": [
                    _TRACE_ID,
                    {"name": "assessment_id", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": responses(
                    {
                        "type": "object",
                        "properties": {
                            "trace_id": {"type": "string"},
                            "assessment_id": {"type": "string"},
                            "history": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "version": {"type": "integer"},
                                        "operation": {"enum": ["create", "update", "invalidate", "restore", "delete"]},
                                        "change_time": {"type": "string", "format": "date-time"},
                                        "caused_by": {"type": ["string", "null"]},
                                        "snapshot": {
                                            "type": "object",
                                            "description": "the assessments row after the change",
                                        },
                                    },
                                },
                            },
                        },
                    },
                    404,
                ),
            }
        },
        "/api/v1/traces/{trace_id}/spans": {
            "get": {
                "summary": "The spans of a trace as MLflow Span.to_dict() objects (base64 ids, attribute values as JSON "
                "text), as the search_traces DataFrame's spans column holds them",
                "parameters": [_TRACE_ID],
                "responses": responses(
                    {
                        "type": "object",
                        "properties": {
                            "trace_id": {"type": "string"},
                            "spans": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "trace_id": {"type": "string"},
                                        "span_id": {"type": "string"},
                                        "parent_span_id": {"type": ["string", "null"]},
                                        "name": {"type": "string"},
                                        "kind": {"type": "string"},
                                        "start_time_unix_nano": {"type": "integer"},
                                        "end_time_unix_nano": {"type": "integer"},
                                        "events": {"type": "array"},
                                        "status": {"type": "object"},
                                        "links": {"type": "array"},
                                        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
                                    },
                                },
                            },
                        },
                    },
                    404,
                ),
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
