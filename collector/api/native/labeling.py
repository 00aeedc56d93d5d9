"""Native labeling-session routes (``/api/v1/labeling/sessions/...``): MLflow's labeling sessions are
Databricks-only and have no OSS REST API, so these are ours, described in ``OPENAPI_PATHS``.

Two audiences: the SDK (``annotrace.genai.labeling``: create, get, list, delete, assign users, add
traces) and a Review App (list my sessions, my queue, post an answer, skip, progress). An answer
is validated against its label schema and stored as an assessment on the session's copy of the
trace in the same writer job that moves the labeler's status (``store/queries/labeling.py``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypeVar

from pydantic import Field, with_config
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.assessment_json import assessment_json
from annotrace.collector.api.mlflow.wire import (
    body_trace_ids,
    json_body,
    missing,
    ok,
    path_trace_id,
    rfc3339,
)
from annotrace.collector.api.models import Boolean, Integer, Object, Text, TextList, Timestamp, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.auth.principal import user_name
from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import labeling, labeling_answers, labeling_progress

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_TRACES_PER_CALL = 1000
MAX_COMMENT_CHARS = 64 * 1024
_USER = Text(max_chars=250, non_empty=True, name=True)
_USERS = TextList(max_items=labeling.MAX_USERS, items=_USER)
_REVIEWERS = Integer(minimum=1, maximum=labeling.MAX_USERS)
L = TypeVar("L", bound="LabelerBody")


class NewSessionBody(TypedDict):
    """``POST /api/v1/labeling/sessions`` (keys in the order they are checked)."""

    experiment_id: Annotated[str, Text(non_empty=True, documented={"pattern": r"^[0-9]{1,19}$"})]
    name: Annotated[str, Text(max_chars=500, non_empty=True, name=True)]
    custom_inputs: NotRequired[Annotated[dict[str, Any], Object()] | None]
    enable_multi_turn_chat: NotRequired[Annotated[bool, Boolean()] | None]
    assigned_users: NotRequired[Annotated[list[str], _USERS] | None]
    agent: NotRequired[Annotated[str, Text()] | None]
    label_schemas: NotRequired[Annotated[list[str], TextList()] | None]
    reviewers_per_item: NotRequired[Annotated[int, _REVIEWERS] | None]


@with_config(
    json_schema_extra={
        "anyOf": [
            {"required": ["assigned_users"], "properties": {"assigned_users": {"type": "array"}}},
            {"required": ["reviewers_per_item"]},
        ]
    }
)
class SessionChangeBody(TypedDict):
    """``PATCH /api/v1/labeling/sessions/{id}``: new assigned users, a reviewers_per_item (null
    clears it), or both; at least one."""

    assigned_users: NotRequired[Annotated[list[str], _USERS] | None]
    reviewers_per_item: NotRequired[Annotated[int, _REVIEWERS] | None]


class NewTracesBody(TypedDict):
    trace_ids: Annotated[list[str], TextList(max_items=MAX_TRACES_PER_CALL)]


class LabelerBody(TypedDict):
    """Who answers or skips: with authentication on, the signed-in user, whatever the body says."""

    user: Annotated[str, Text(max_chars=250, non_empty=True)]


class AnswerBody(LabelerBody):
    schema: Annotated[str, Text(max_chars=250, non_empty=True)]
    value: Any
    comment: NotRequired[Annotated[str, Text(max_chars=MAX_COMMENT_CHARS)] | None]


Status = Annotated[str, Field(json_schema_extra={"enum": list(labeling.STATUSES)})]


class SessionJson(TypedDict):
    """The 11 fields of MLflow's ``LabelingSession``, plus url_path and times."""

    labeling_session_id: str
    mlflow_run_id: str
    name: str
    experiment_id: str
    review_app_id: str
    assigned_users: list[str]
    agent: str | None
    label_schemas: list[str]
    enable_multi_turn_chat: bool
    custom_inputs: dict[str, Any] | None
    url_path: str
    reviewers_per_item: int | None
    create_time: Timestamp
    last_update_time: Timestamp


class OneSession(TypedDict):
    labeling_session: SessionJson


class SessionList(TypedDict):
    labeling_sessions: list[SessionJson]


class SessionListParams(TypedDict):
    experiment_id: NotRequired[Annotated[str, Text()] | None]
    user: NotRequired[Annotated[str, Text(documented={"description": "only the sessions this user may label"})] | None]


class ItemJson(TypedDict):
    trace_id: Annotated[str, Field(description="the session's copy of the trace")]
    source_trace_id: str
    position: int
    create_time: Timestamp
    request_preview: str | None
    response_preview: str | None
    statuses: Annotated[dict[str, Status], Field(description="each labeler's status")]
    status: NotRequired[Annotated[Status, Field(description="the status of the user asked for (?user=)")]]


class ItemList(TypedDict):
    session_id: str
    items: list[ItemJson]


class ItemListParams(TypedDict):
    user: NotRequired[Annotated[str, Text()] | None]
    status: NotRequired[
        Annotated[str, Text(choices=labeling.STATUSES, documented={"description": "needs user"})] | None
    ]


class AddedTrace(TypedDict):
    source_trace_id: str
    trace_id: str
    added: Annotated[bool, Field(description="false: the source was already in the session")]


class AddedTraces(TypedDict):
    items: list[AddedTrace]


class AnswerSaved(TypedDict):
    assessment: Annotated[dict[str, Any], Field(description="the stored assessment, in MLflow's JSON")]
    status: Status


class Skipped(TypedDict):
    trace_id: str
    user: str
    status: Status


def session_json(s: labeling.Session) -> SessionJson:
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


def item_json(item: labeling.Item, user: str | None) -> ItemJson:
    out: ItemJson = {
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


async def _labeler_body(request: Request, model: type[L]) -> L:
    """The body as ``model``, whose ``user`` is the signed-in user when authentication is on (a
    ``user`` in the body is ignored: nobody answers as someone else), else the body's ``user``."""
    data = await json_body(request)
    signed_in = user_name(request)
    return parse(model, data if signed_in is None else data | {"user": signed_in})


async def create_session(access: Access, request: Request) -> Response:
    body = parse(NewSessionBody, await json_body(request))
    new = labeling.NewSession(
        experiment_id=body["experiment_id"],
        name=body["name"],
        assigned_users=body.get("assigned_users") or [],
        agent=body.get("agent"),
        label_schemas=body.get("label_schemas") or [],
        enable_multi_turn_chat=bool(body.get("enable_multi_turn_chat")),
        custom_inputs=body.get("custom_inputs"),
        reviewers_per_item=body.get("reviewers_per_item"),
    )
    stored = await access.write(partial(labeling.create, new=new, now=now_ms()))
    return ok({"labeling_session": session_json(stored)})


async def list_sessions(access: Access, request: Request) -> Response:
    """``?experiment_id=`` (all experiments if absent) and ``?user=`` (only sessions they may label)."""
    params = parse_query(SessionListParams, request.query_params)
    found = await access.read(labeling.list_sessions, params.get("experiment_id"), params.get("user"))
    answer: SessionList = {"labeling_sessions": [session_json(s) for s in found]}
    return ok(answer)


async def get_session(access: Access, request: Request) -> Response:
    return ok({"labeling_session": session_json(await access.read(labeling.get, session_path_id(request)))})


async def update_session(access: Access, request: Request) -> Response:
    """``PATCH {"assigned_users": [...]}`` (what ``set_assigned_users`` sends) and/or
    ``{"reviewers_per_item": N | null}``."""
    session_id = session_path_id(request)
    body = parse(SessionChangeBody, await json_body(request))
    users = body.get("assigned_users")
    if users is None and "reviewers_per_item" not in body:
        raise missing("assigned_users")
    if "reviewers_per_item" in body:
        stored = await access.write(
            partial(
                labeling.set_reviewers_per_item,
                session_id=session_id,
                reviewers=body["reviewers_per_item"],
                now=now_ms(),
            )
        )
    if users is not None:
        stored = await access.write(
            partial(labeling.set_assigned_users, session_id=session_id, users=users, now=now_ms())
        )
    return ok({"labeling_session": session_json(stored)})


async def delete_session(access: Access, request: Request) -> Response:
    """Idempotent; the session's copied traces and their labels stay in the experiment."""
    await access.write(partial(labeling.delete, session_id=session_path_id(request)))
    return ok({})


async def add_traces(access: Access, request: Request) -> Response:
    """``{"trace_ids": [source ids]}`` -> ``{"items": [{"source_trace_id", "trace_id", "added"}]}``."""
    session_id = session_path_id(request)
    raw = parse(NewTracesBody, await json_body(request))["trace_ids"]
    if len(raw) > MAX_TRACES_PER_CALL:
        raise InvalidParameter(f"Invalid value for parameter 'trace_ids': more than {MAX_TRACES_PER_CALL} traces.")
    sources = body_trace_ids(raw, "trace_ids")
    done = await access.write(partial(labeling.add_traces, session_id=session_id, source_ids=sources, now=now_ms()))
    answer: AddedTraces = {"items": [{"source_trace_id": s, "trace_id": c, "added": added} for s, c, added in done]}
    return ok(answer)


async def list_items(access: Access, request: Request) -> Response:
    """The queue: every item in order, with each labeler's status; ``?user=`` adds that user's
    ``status`` and ``?status=`` keeps only items in that status for that user."""
    session_id = session_path_id(request)
    params = parse_query(ItemListParams, request.query_params)
    user, status = params.get("user"), params.get("status")
    if status is not None and user is None:
        raise InvalidParameter("Invalid value for parameter 'status': filtering by status needs 'user'.")
    found = await access.read(labeling.items, session_id)
    if status is not None and user is not None:
        found = [item for item in found if item.status_for(user) == status]
    answer: ItemList = {"session_id": session_id, "items": [item_json(item, user) for item in found]}
    return ok(answer)


async def post_answer(access: Access, request: Request) -> Response:
    """``{"user", "schema", "value", "comment"?}`` -> the stored assessment and the labeler's status
    (403 PERMISSION_DENIED when ``user`` is not one of the session's assigned users)."""
    session_id = session_path_id(request)
    trace_id = path_trace_id(request)
    body = await _labeler_body(request, AnswerBody)
    answer = labeling_answers.Answer(
        session_id, trace_id, body["user"], body["schema"], body["value"], body.get("comment")
    )
    stored, status = await access.write(partial(labeling_answers.answer, a=answer, now=now_ms()))
    saved: AnswerSaved = {"assessment": assessment_json(stored), "status": status}
    return ok(saved)


async def skip_item(access: Access, request: Request) -> Response:
    session_id = session_path_id(request)
    trace_id = path_trace_id(request)
    user = (await _labeler_body(request, LabelerBody))["user"]
    status = await access.write(
        partial(labeling_answers.skip, session_id=session_id, trace_id=trace_id, user=user, now=now_ms())
    )
    skipped: Skipped = {"trace_id": trace_id, "user": user, "status": status}
    return ok(skipped)


async def progress(access: Access, request: Request) -> Response:
    return ok(await access.read(labeling_progress.progress, session_path_id(request)))
