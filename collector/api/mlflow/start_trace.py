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
from typing import TYPE_CHECKING

from annotrace.collector.api.mlflow import trace_json
from annotrace.collector.api.mlflow.assessment_json import MAX_METADATA_BYTES, MAX_NAME_CHARS, parse_create
from annotrace.collector.api.mlflow.wire import Fields, invalid, json_body, ok, stored_trace_id
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import start_trace as store
from annotrace.collector.store.queries import traces as trace_queries

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.assessments import NewAssessment

STATES = ("OK", "ERROR", "IN_PROGRESS")
_DURATION = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")
_ASSESSMENT_ID = re.compile(r"^a-[0-9a-f]{32}$")


async def start_trace(access: Access, request: Request) -> Response:
    info = parse(await json_body(request))
    await access.write(partial(store.start_trace, info=info, now=now_ms()))
    row, assessments = await access.read(trace_queries.get_info, info.trace_id)
    return ok({"trace": {"trace_info": trace_json.trace_info(row, assessments)}})


def parse(body: Fields) -> store.StartedTrace:
    trace = body.get_obj("trace", required=True)
    assert trace is not None
    info = trace.get_obj("trace_info", required=True)
    assert info is not None
    raw_id = info.get_str("trace_id", required=True)
    assert raw_id is not None
    trace_id = stored_trace_id(raw_id) if raw_id.startswith("tr-") else _bad_id(info.path("trace_id"), raw_id)
    location = info.get_obj("trace_location", required=True)
    assert location is not None
    experiment = location.get_obj("mlflow_experiment", required=True)
    assert experiment is not None
    experiment_id = experiment.get_str("experiment_id", required=True, max_chars=MAX_NAME_CHARS)
    assert experiment_id is not None
    state = info.get_str("state") or "OK"
    if state not in STATES:
        raise InvalidParameter(
            f"Invalid value '{state}' for parameter '{info.path('state')}': expected one of {', '.join(STATES)}."
        )
    return store.StartedTrace(
        trace_id=trace_id,
        experiment_id=experiment_id,
        state=state,
        request_time=_timestamp(info, "request_time"),
        execution_duration_ms=_duration(info, "execution_duration"),
        request_preview=info.get_str("request_preview"),
        response_preview=info.get_str("response_preview"),
        client_request_id=info.get_str("client_request_id", max_chars=MAX_NAME_CHARS),
        tags=info.get_str_map("tags", max_key_chars=trace_queries.MAX_TAG_KEY_CHARS, max_bytes=MAX_METADATA_BYTES)
        or {},
        trace_metadata=info.get_str_map("trace_metadata", max_key_chars=MAX_NAME_CHARS, max_bytes=MAX_METADATA_BYTES)
        or {},
        assessments=_assessments(info, trace_id),
    )


def _bad_id(path: str, value: str) -> str:
    raise InvalidParameter(f"Invalid value '{value}' for parameter '{path}': expected 'tr-' followed by 32 hex digits.")


def _timestamp(info: Fields, name: str) -> datetime:
    text = info.get_str(name, required=True)
    assert text is not None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(info.path(name), "an RFC 3339 timestamp", text) from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _duration(info: Fields, name: str) -> float:
    text = info.get_str(name)
    if text is None:
        return 0.0
    match = _DURATION.match(text)
    if match is None:
        raise invalid(info.path(name), 'a duration like "0.250s"', text)
    return float(match.group(1)) * 1000


def _assessments(info: Fields, trace_id: str) -> list[tuple[str, NewAssessment]]:
    raw = info.raw("assessments")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid(info.path("assessments"), "a list", raw)
    out = []
    for i, item in enumerate(raw):
        path = f"{info.path('assessments')}[{i}]"
        if not isinstance(item, dict):
            raise invalid(path, "an object", item)
        try:
            new = parse_create(Fields({"assessment": item}, prefix=f"{path}."), trace_id)
        except InvalidParameter as exc:  # parse_create speaks of 'assessment.x'; say which one
            raise InvalidParameter(f"{path}: {exc.message}") from None
        given = item.get("assessment_id")
        if given is not None and (not isinstance(given, str) or not _ASSESSMENT_ID.match(given)):
            raise invalid(f"{path}.assessment_id", "'a-' followed by 32 hex digits", given)
        out.append((given or new_assessment_id(), new))
    return out
