"""StartTraceV3 (``POST /api/3.0/mlflow/traces``): the trace info the stock MLflow client sends
once a trace ends, after (or while) its spans travel over OTLP.

MLflow named the RPC "start" but the client calls it at the end of a trace, with the tags,
metadata and assessments gathered while the trace was active. Without it the client logs
"Failed to send trace to MLflow backend" and those tags and assessments are lost. The response is
the stored trace info, whose ``mlflow.trace.spansLocation = TRACKING_STORE`` tells the client the
spans need no artifact upload.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow import trace_json
from annotrace.collector.api.mlflow.assessment_json import (
    MAX_METADATA_BYTES,
    MAX_NAME_CHARS,
    ONE_KIND,
    AssessmentBody,
    new_assessment,
)
from annotrace.collector.api.mlflow.wire import invalid, json_body, ok, stored_trace_id
from annotrace.collector.api.model_rules import Check, TextMap
from annotrace.collector.api.models import Text, parse
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import start_trace as start_trace_queries
from annotrace.collector.store.queries import traces

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

STATES = ("OK", "ERROR", "IN_PROGRESS")
_DURATION = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")
_ASSESSMENT_ID = re.compile(r"^a-[0-9a-f]{32}$")


def _trace_id(raw: str, path: str) -> str:
    """A trace id as stored; a malformed ``tr-`` id is a 404, as on every route."""
    if not raw.startswith("tr-"):
        raise InvalidParameter(
            f"Invalid value '{raw}' for parameter '{path}': expected 'tr-' followed by 32 hex digits."
        )
    return stored_trace_id(raw)


def _timestamp(text: str, path: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(path, "an RFC 3339 timestamp", text) from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _duration(text: str | None, path: str) -> float:
    if text is None:
        return 0.0
    match = _DURATION.match(text)
    if match is None:
        raise invalid(path, 'a duration like "0.250s"', text)
    return float(match.group(1)) * 1000


def _state(state: str | None, path: str) -> str:
    if state and state not in STATES:
        raise InvalidParameter(f"Invalid value '{state}' for parameter '{path}': expected one of {', '.join(STATES)}.")
    return state or "OK"


def _assessment_id(given: Any, path: str) -> str | None:
    if given is not None and (not isinstance(given, str) or not _ASSESSMENT_ID.match(given)):
        raise invalid(path, "'a-' followed by 32 hex digits", given)
    return given


def _list(raw: Any, path: str) -> Any:
    if raw is not None and not isinstance(raw, list):
        raise invalid(path, "a list", raw)
    return raw


class LoggedAssessmentBody(AssessmentBody):
    """An assessment the client gathered while the trace was active; it may bring its own id."""

    assessment_id: NotRequired[Annotated[Any, Check(_assessment_id)]]


class ExperimentBody(TypedDict):
    experiment_id: Annotated[str, Text(non_empty=True, max_chars=MAX_NAME_CHARS)]


class LocationBody(TypedDict):
    mlflow_experiment: ExperimentBody


_TEXT = Annotated[str, Text()] | None


class TraceInfoBody(TypedDict):
    """MLflow's ``TraceInfoV3``, its fields in field-number order (as ``assessment_json``'s bodies)."""

    trace_id: Annotated[str, Text(non_empty=True), Check(_trace_id)]
    client_request_id: NotRequired[Annotated[str, Text(max_chars=MAX_NAME_CHARS)] | None]
    trace_location: LocationBody
    request_time: Annotated[datetime, Text(non_empty=True), Check(_timestamp)]
    execution_duration: NotRequired[Annotated[float, Text(), Check(_duration)] | None]
    state: NotRequired[Annotated[str, Text(), Check(_state)] | None]
    trace_metadata: NotRequired[
        Annotated[dict[str, str], TextMap(max_key_chars=MAX_NAME_CHARS, max_bytes=MAX_METADATA_BYTES)] | None
    ]
    assessments: NotRequired[
        Annotated[list[Annotated[LoggedAssessmentBody, ONE_KIND]], Check(_list, before=True)] | None
    ]
    tags: NotRequired[
        Annotated[dict[str, str], TextMap(max_key_chars=traces.MAX_TAG_KEY_CHARS, max_bytes=MAX_METADATA_BYTES)] | None
    ]
    request_preview: NotRequired[_TEXT]
    response_preview: NotRequired[_TEXT]


class TraceBody(TypedDict):
    trace_info: TraceInfoBody


class StartTraceBody(TypedDict):
    trace: TraceBody


async def start_trace(access: Access, request: Request) -> Response:
    info = parse_started(parse(StartTraceBody, await json_body(request))["trace"]["trace_info"])
    await access.write(partial(start_trace_queries.start_trace, info=info, now=now_ms()))
    row, assessments = await access.read(traces.get_info, info.trace_id)
    return ok({"trace": {"trace_info": trace_json.trace_info(row, assessments)}})


def parse_started(info: TraceInfoBody) -> start_trace_queries.StartedTrace:
    trace_id = info["trace_id"]
    return start_trace_queries.StartedTrace(
        trace_id=trace_id,
        experiment_id=info["trace_location"]["mlflow_experiment"]["experiment_id"],
        state=info.get("state") or "OK",
        request_time=info["request_time"],
        execution_duration_ms=info.get("execution_duration") or 0.0,
        request_preview=info.get("request_preview"),
        response_preview=info.get("response_preview"),
        client_request_id=info.get("client_request_id"),
        tags=info.get("tags") or {},
        trace_metadata=info.get("trace_metadata") or {},
        assessments=[
            (item.get("assessment_id") or new_assessment_id(), new_assessment(item, trace_id))
            for item in info.get("assessments") or []
        ],
    )
