"""The OpenAPI paths of the labeling-session routes (``labeling.py``): request bodies come from the
routes' own models (``api.models.request_body``), so the document says what the server parses;
the answers are described here."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.models import request_body
from annotrace.collector.api.native.labeling import (
    AddedTraces,
    AnswerBody,
    AnswerSaved,
    ItemList,
    ItemListParams,
    LabelerBody,
    NewSessionBody,
    NewTracesBody,
    OneSession,
    SessionChangeBody,
    SessionList,
    SessionListParams,
    Skipped,
)
from annotrace.collector.api.native.openapi_operation import path_parameter, query_parameters, responses


class UserProgress(TypedDict):
    """One labeler's item count per status (a key per status)."""

    user: str
    pending: int
    in_progress: int
    completed: int
    skipped: int


class ItemProgress(TypedDict):
    trace_id: str
    completed: int
    in_progress: int
    skipped: int
    reviews_needed: Annotated[int | None, Field(description="null: every assigned user answers every item")]


class Progress(TypedDict):
    """What ``store/queries/labeling_progress.progress`` answers."""

    session_id: str
    item_count: int
    completed_items: Annotated[int, Field(description="items completed by at least one labeler")]
    reviewers_per_item: int | None
    totals: dict[str, int]
    users: list[UserProgress]
    items: list[ItemProgress]


_SESSION_ID = path_parameter("session_id", "labeling session id = its MLflow run id (32 hex)")
_TRACE_ID = path_parameter("trace_id", "the item: the session's copy of the trace (tr- + 32 hex)")
_AS_LABELER = (400, 403, 404)  # 403 PERMISSION_DENIED: the user is not assigned to the session
_ERROR_TEXT = {403: "PERMISSION_DENIED: the user is not one of the session's assigned_users"}


def _op(
    summary: str,
    ok: type[Any] | dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: type[Any] | None = None,
    errors: tuple[int, ...] = (400, 404),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": responses(ok, *errors, errors=_ERROR_TEXT),
    }
    if body is not None:
        out["requestBody"] = request_body(body)
    return out


_BASE = "/api/v1/labeling/sessions"
OPENAPI_PATHS: dict[str, Any] = {
    _BASE: {
        "post": _op(
            "Create a labeling session (every label schema must exist; built-ins are created)",
            OneSession,
            body=NewSessionBody,
        ),
        "get": _op(
            "Labeling sessions, newest first; with user, only those the user may label",
            SessionList,
            params=query_parameters(SessionListParams),
        ),
    },
    _BASE + "/{session_id}": {
        "get": _op(
            "One labeling session",
            OneSession,
            params=[_SESSION_ID],
        ),
        "patch": _op(
            "Replace the assigned users (an empty list lets anyone label) and/or set reviewers_per_item (null: no limit)",
            OneSession,
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
            AddedTraces,
            params=[_SESSION_ID],
            body=NewTracesBody,
        )
    },
    _BASE + "/{session_id}/items": {
        "get": _op(
            "The session's queue in order, with each labeler's status",
            ItemList,
            params=[_SESSION_ID, *query_parameters(ItemListParams)],
        )
    },
    _BASE + "/{session_id}/items/{trace_id}/answers": {
        "post": _op(
            "Answer one label schema for one item: validated against the schema, stored as an assessment (name = "
            "schema, feedback or expectation per the schema type, source HUMAN/user, rationale = comment)",
            AnswerSaved,
            params=[_SESSION_ID, _TRACE_ID],
            body=AnswerBody,
            errors=_AS_LABELER,
        )
    },
    _BASE + "/{session_id}/items/{trace_id}/skip": {
        "post": _op(
            "Skip an item for one labeler",
            Skipped,
            params=[_SESSION_ID, _TRACE_ID],
            body=LabelerBody,
            errors=_AS_LABELER,
        )
    },
    _BASE + "/{session_id}/progress": {
        "get": _op(
            "Item counts per status, per labeler and in total",
            Progress,
            params=[_SESSION_ID],
        )
    },
}
