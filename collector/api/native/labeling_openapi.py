"""The OpenAPI paths of the labeling-session routes (``labeling.py``): request bodies come from the
routes' own models (``api.models.request_body``), so the document says what the server parses;
the answers are described here."""

from __future__ import annotations

from typing import Any

from annotrace.collector.api.models import request_body
from annotrace.collector.api.native.labeling import (
    AnswerBody,
    LabelerBody,
    NewSessionBody,
    NewTracesBody,
    SessionChangeBody,
)
from annotrace.collector.store.queries import labeling

_ERROR = {"$ref": "#/components/schemas/Error"}


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


_SESSION_ID = _path_parameter("session_id", "labeling session id = its MLflow run id (32 hex)")
_TRACE_ID = _path_parameter("trace_id", "the item: the session's copy of the trace (tr- + 32 hex)")
_SESSION = {
    "type": "object",
    "description": "MLflow LabelingSession fields (+ url_path, times)",
    "properties": {
        key: {"type": "string"}
        for key in (
            "labeling_session_id",
            "mlflow_run_id",
            "name",
            "experiment_id",
            "review_app_id",
            "url_path",
            "create_time",
            "last_update_time",
        )
    }
    | {
        "assigned_users": {"type": "array", "items": {"type": "string"}},
        "agent": {"type": ["string", "null"]},
        "label_schemas": {"type": "array", "items": {"type": "string"}},
        "enable_multi_turn_chat": {"type": "boolean"},
        "custom_inputs": {"type": ["object", "null"]},
    },
}
_STATUS = {"enum": list(labeling.STATUSES)}
_AS_LABELER = ("400", "403", "404")  # 403 PERMISSION_DENIED: the user is not assigned to the session
_ERROR_TEXT = {"403": "PERMISSION_DENIED: the user is not one of the session's assigned_users"}


def _op(
    summary: str,
    ok_schema: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: type[Any] | None = None,
    errors: tuple[str, ...] = ("400", "404"),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ok_schema}}},
            **{
                code: {
                    "description": _ERROR_TEXT.get(code, "MLflow error envelope"),
                    "content": {"application/json": {"schema": _ERROR}},
                }
                for code in errors
            },
        },
    }
    if body is not None:
        out["requestBody"] = request_body(body)
    return out


_BASE = "/api/v1/labeling/sessions"
OPENAPI_PATHS: dict[str, Any] = {
    _BASE: {
        "post": _op(
            "Create a labeling session (every label schema must exist; built-ins are created)",
            {"type": "object", "properties": {"labeling_session": _SESSION}},
            body=NewSessionBody,
        ),
        "get": _op(
            "Labeling sessions, newest first; with user, only those the user may label",
            {"type": "object", "properties": {"labeling_sessions": {"type": "array", "items": _SESSION}}},
            params=[
                {"name": "experiment_id", "in": "query", "schema": {"type": "string"}},
                {"name": "user", "in": "query", "schema": {"type": "string"}},
            ],
        ),
    },
    _BASE + "/{session_id}": {
        "get": _op(
            "One labeling session",
            {"type": "object", "properties": {"labeling_session": _SESSION}},
            params=[_SESSION_ID],
        ),
        "patch": _op(
            "Replace the assigned users (an empty list lets anyone label) and/or set reviewers_per_item (null: no limit)",
            {"type": "object", "properties": {"labeling_session": _SESSION}},
            params=[_SESSION_ID],
            body=SessionChangeBody,
        ),
        "delete": _op(
            "Delete the session (idempotent); its copied traces and labels stay",
            {"type": "object"},
            params=[_SESSION_ID],
        ),
    },
    _BASE + "/{session_id}/traces": {
        "post": _op(
            "Copy traces into the session (new trace ids; a source already in the session is not copied again)",
            {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "source_trace_id": {"type": "string"},
                                "trace_id": {"type": "string"},
                                "added": {"type": "boolean"},
                            },
                        },
                    }
                },
            },
            params=[_SESSION_ID],
            body=NewTracesBody,
        )
    },
    _BASE + "/{session_id}/items": {
        "get": _op(
            "The session's queue in order, with each labeler's status",
            {
                "type": "object",
                "properties": {
                    "session_id": {"type": "string"},
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "trace_id": {"type": "string"},
                                "source_trace_id": {"type": "string"},
                                "position": {"type": "integer"},
                                "request_preview": {"type": ["string", "null"]},
                                "response_preview": {"type": ["string", "null"]},
                                "status": _STATUS,
                                "statuses": {"type": "object", "additionalProperties": _STATUS},
                            },
                        },
                    },
                },
            },
            params=[
                _SESSION_ID,
                {"name": "user", "in": "query", "schema": {"type": "string"}},
                {"name": "status", "in": "query", "schema": _STATUS},
            ],
        )
    },
    _BASE + "/{session_id}/items/{trace_id}/answers": {
        "post": _op(
            "Answer one label schema for one item: validated against the schema, stored as an assessment (name = "
            "schema, feedback or expectation per the schema type, source HUMAN/user, rationale = comment)",
            {"type": "object", "properties": {"assessment": {"type": "object"}, "status": _STATUS}},
            params=[_SESSION_ID, _TRACE_ID],
            body=AnswerBody,
            errors=_AS_LABELER,
        )
    },
    _BASE + "/{session_id}/items/{trace_id}/skip": {
        "post": _op(
            "Skip an item for one labeler",
            {
                "type": "object",
                "properties": {"trace_id": {"type": "string"}, "user": {"type": "string"}, "status": _STATUS},
            },
            params=[_SESSION_ID, _TRACE_ID],
            body=LabelerBody,
            errors=_AS_LABELER,
        )
    },
    _BASE + "/{session_id}/progress": {
        "get": _op(
            "Item counts per status, per labeler and in total",
            {
                "type": "object",
                "properties": {
                    "session_id": {"type": "string"},
                    "item_count": {"type": "integer"},
                    "completed_items": {"type": "integer", "description": "items completed by at least one labeler"},
                    "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "users": {"type": "array", "items": {"type": "object"}},
                },
            },
            params=[_SESSION_ID],
        )
    },
}
