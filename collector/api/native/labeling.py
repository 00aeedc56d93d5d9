"""Native labeling-session routes (``/api/v1/labeling/sessions/...``): MLflow's labeling sessions are
Databricks-only and have no OSS REST API, so these are ours, described in ``OPENAPI_PATHS``.

Two audiences: the SDK (``annotrace.genai.labeling``: create, get, list, delete, assign users, add
traces) and a Review App (list my sessions, my queue, post an answer, skip, progress). An answer
is validated against its label schema and stored as an assessment on the session's copy of the
trace in the same writer job that moves the labeler's status (``store/queries/labeling.py``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from annotrace.collector.api.mlflow.assessment_json import assessment_json
from annotrace.collector.api.mlflow.wire import (
    Fields,
    body_trace_ids,
    invalid,
    json_body,
    missing,
    ok,
    path_trace_id,
    query,
    rfc3339,
)
from annotrace.collector.auth.principal import user_name
from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import labeling as store
from annotrace.collector.store.queries import labeling_answers, labeling_progress

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_TRACES_PER_CALL = 1000
MAX_COMMENT_CHARS = 64 * 1024


def session_json(s: store.Session) -> dict[str, Any]:
    """The 11 fields of MLflow's ``LabelingSession`` (url and review_app_id are filled in by the SDK
    from its tracking URI), plus times."""
    return {
        "labeling_session_id": s.session_id,
        "mlflow_run_id": s.session_id,
        "name": s.name,
        "experiment_id": s.experiment_id,
        "review_app_id": f"review-app-{s.experiment_id}",
        "assigned_users": s.assigned_users,
        "agent": s.agent,
        "label_schemas": s.label_schemas,
        "enable_multi_turn_chat": s.enable_multi_turn_chat,
        "custom_inputs": s.custom_inputs,
        "url_path": f"/review/{s.session_id}",
        "reviewers_per_item": s.reviewers_per_item,
        "create_time": rfc3339(s.create_time),
        "last_update_time": rfc3339(s.last_update_time),
    }


def item_json(item: store.Item, user: str | None) -> dict[str, Any]:
    out = {
        "trace_id": item.trace_id,
        "source_trace_id": item.source_trace_id,
        "position": item.position,
        "create_time": rfc3339(item.create_time),
        "request_preview": item.request_preview,
        "response_preview": item.response_preview,
        "statuses": item.statuses,
    }
    if user is not None:
        out["status"] = item.status_for(user)
    return out


def session_path_id(request: Request) -> str:
    """The path's session id (a run id, or a review queue's ``rq-`` id); anything else is a 404."""
    value = str(request.path_params["session_id"])
    hex32 = value.removeprefix("rq-")  # a review queue is a session too (its id is "rq-" + 32 hex)
    if len(hex32) != 32 or any(c not in "0123456789abcdef" for c in hex32):
        raise NotFound(f"Labeling session with run_id `{value}` not found")
    return value


def _users(body: Fields, name: str) -> list[str]:
    return body.get_str_list(name) or []


def _user(body: Fields, request: Request) -> str:
    """Who answers: the signed-in user when authentication is on (a ``user`` in the body is
    ignored: nobody answers as someone else), else the body's ``user``."""
    signed_in = user_name(request)
    if signed_in is not None:
        return signed_in
    user = body.get_str("user", required=True, max_chars=250)
    assert user is not None
    return user


async def create_session(api: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id = body.get_str("experiment_id", required=True)
    name = body.get_name("name", required=True, max_chars=500)
    assert experiment_id is not None and name is not None
    custom = body.raw("custom_inputs")
    if custom is not None and not isinstance(custom, dict):
        raise invalid("custom_inputs", "an object", custom)
    multi = body.raw("enable_multi_turn_chat")
    if multi is not None and not isinstance(multi, bool):
        raise invalid("enable_multi_turn_chat", "a boolean", multi)
    new = store.NewSession(
        experiment_id=experiment_id,
        name=name,
        assigned_users=_users(body, "assigned_users"),
        agent=body.get_str("agent"),
        label_schemas=body.get_str_list("label_schemas") or [],
        enable_multi_turn_chat=bool(multi),
        custom_inputs=custom,
        reviewers_per_item=body.get_int("reviewers_per_item"),
    )
    stored = await api.write(partial(store.create, new=new, now=now_ms()))
    return ok({"labeling_session": session_json(stored)})


async def list_sessions(api: Access, request: Request) -> Response:
    """``?experiment_id=`` (all experiments if absent) and ``?user=`` (only sessions they may label)."""
    params = query(request)
    found = await api.read(store.list_sessions, params.get_str("experiment_id"), params.get_str("user"))
    return ok({"labeling_sessions": [session_json(s) for s in found]})


async def get_session(api: Access, request: Request) -> Response:
    return ok({"labeling_session": session_json(await api.read(store.get, session_path_id(request)))})


async def update_session(api: Access, request: Request) -> Response:
    """``PATCH {"assigned_users": [...]}`` (what ``set_assigned_users`` sends) and/or
    ``{"reviewers_per_item": N | null}``."""
    session_id = session_path_id(request)
    body = await json_body(request)
    users = body.get_str_list("assigned_users")
    if users is None and "reviewers_per_item" not in body.data:
        raise missing("assigned_users")
    if "reviewers_per_item" in body.data:
        stored = await api.write(
            partial(
                store.set_reviewers_per_item,
                session_id=session_id,
                reviewers=body.get_int("reviewers_per_item"),
                now=now_ms(),
            )
        )
    if users is not None:
        stored = await api.write(partial(store.set_assigned_users, session_id=session_id, users=users, now=now_ms()))
    return ok({"labeling_session": session_json(stored)})


async def delete_session(api: Access, request: Request) -> Response:
    """Idempotent; the session's copied traces and their labels stay in the experiment."""
    await api.write(partial(store.delete, session_id=session_path_id(request)))
    return ok({})


async def add_traces(api: Access, request: Request) -> Response:
    """``{"trace_ids": [source ids]}`` -> ``{"items": [{"source_trace_id", "trace_id", "added"}]}``."""
    session_id = session_path_id(request)
    body = await json_body(request)
    raw = body.get_str_list("trace_ids")
    if raw is None:
        raise missing("trace_ids")
    if len(raw) > MAX_TRACES_PER_CALL:
        raise InvalidParameter(f"Invalid value for parameter 'trace_ids': more than {MAX_TRACES_PER_CALL} traces.")
    sources = body_trace_ids(raw, "trace_ids")
    done = await api.write(partial(store.add_traces, session_id=session_id, source_ids=sources, now=now_ms()))
    return ok({"items": [{"source_trace_id": s, "trace_id": c, "added": added} for s, c, added in done]})


async def list_items(api: Access, request: Request) -> Response:
    """The queue: every item in order, with each labeler's status; ``?user=`` adds that user's
    ``status`` and ``?status=`` keeps only items in that status for that user."""
    session_id = session_path_id(request)
    params = query(request)
    user, status = params.get_str("user"), params.get_str("status")
    if status is not None and status not in store.STATUSES:
        raise invalid("status", "one of " + ", ".join(store.STATUSES), status)
    if status is not None and user is None:
        raise InvalidParameter("Invalid value for parameter 'status': filtering by status needs 'user'.")
    found = await api.read(store.items, session_id)
    if status is not None and user is not None:
        found = [item for item in found if item.status_for(user) == status]
    return ok({"session_id": session_id, "items": [item_json(item, user) for item in found]})


async def post_answer(api: Access, request: Request) -> Response:
    """``{"user", "schema", "value", "comment"?}`` -> the stored assessment and the labeler's status
    (403 PERMISSION_DENIED when ``user`` is not one of the session's assigned users)."""
    session_id = session_path_id(request)
    trace_id = path_trace_id(request)
    body = await json_body(request)
    user = _user(body, request)
    schema = body.get_str("schema", required=True, max_chars=250)
    assert schema is not None
    if "value" not in body.data:
        raise missing("value")
    answer = labeling_answers.Answer(
        session_id, trace_id, user, schema, body.raw("value"), body.get_str("comment", max_chars=MAX_COMMENT_CHARS)
    )
    stored, status = await api.write(partial(labeling_answers.answer, a=answer, now=now_ms()))
    return ok({"assessment": assessment_json(stored), "status": status})


async def skip_item(api: Access, request: Request) -> Response:
    session_id = session_path_id(request)
    trace_id = path_trace_id(request)
    user = _user(await json_body(request), request)
    status = await api.write(
        partial(labeling_answers.skip, session_id=session_id, trace_id=trace_id, user=user, now=now_ms())
    )
    return ok({"trace_id": trace_id, "user": user, "status": status})


async def progress(api: Access, request: Request) -> Response:
    return ok(await api.read(labeling_progress.progress, session_path_id(request)))


_ERROR = {"$ref": "#/components/schemas/Error"}
_SESSION_ID = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "labeling session id = its MLflow run id (32 hex)",
}
_TRACE_ID = {
    "name": "trace_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the item: the session's copy of the trace (tr- + 32 hex)",
}
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
_STATUS = {"enum": list(store.STATUSES)}
_USER_BODY = {"type": "object", "required": ["user"], "properties": {"user": {"type": "string"}}}
_AS_LABELER = ("400", "403", "404")  # 403 PERMISSION_DENIED: the user is not assigned to the session
_ERROR_TEXT = {"403": "PERMISSION_DENIED: the user is not one of the session's assigned_users"}


def _op(
    summary: str,
    ok_schema: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
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
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return out


_BASE = "/api/v1/labeling/sessions"
_NOT_NAME = r"\u0000-\u001f\u007f-\u009f\ufffd"  # what ids.name_problem refuses
_NAME = {
    "type": "string",
    "maxLength": 500,
    "description": "not blank; no control characters or U+FFFD",
    "pattern": rf"^[^{_NOT_NAME}]*[^\s{_NOT_NAME}][^{_NOT_NAME}]*$",
}
_USERS = {
    "type": "array",
    "maxItems": store.MAX_USERS,
    "items": {**_NAME, "maxLength": 250},
    "description": "user names: not blank, no control characters or U+FFFD",
}
OPENAPI_PATHS: dict[str, Any] = {
    _BASE: {
        "post": _op(
            "Create a labeling session (every label schema must exist; built-ins are created)",
            {"type": "object", "properties": {"labeling_session": _SESSION}},
            body={
                "type": "object",
                "required": ["experiment_id", "name"],
                "properties": {
                    "experiment_id": {"type": "string", "pattern": r"^[0-9]{1,19}$"},
                    "name": _NAME,
                    "assigned_users": _USERS,
                    "agent": {"type": "string"},
                    "label_schemas": {"type": "array", "items": {"type": "string"}},
                    "enable_multi_turn_chat": {"type": "boolean"},
                    "custom_inputs": {"type": "object"},
                },
            },
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
            "Replace the assigned users (an empty list lets anyone label)",
            {"type": "object", "properties": {"labeling_session": _SESSION}},
            params=[_SESSION_ID],
            body={"type": "object", "required": ["assigned_users"], "properties": {"assigned_users": _USERS}},
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
            body={
                "type": "object",
                "required": ["trace_ids"],
                "properties": {"trace_ids": {"type": "array", "items": {"type": "string"}}},
            },
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
            body={
                "type": "object",
                "required": ["user", "schema", "value"],
                "properties": {
                    "user": {"type": "string"},
                    "schema": {"type": "string"},
                    "value": {},
                    "comment": {"type": "string"},
                },
            },
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
            body=_USER_BODY,
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
