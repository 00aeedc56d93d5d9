"""MLflow's wire conventions (reference 1.2): JSON bodies, typed fields, timestamps, durations.

MLflow parses requests with protobuf's JSON mapping, so a wrong type anywhere is a 400; here a
route checks the body ``json_body`` reads against its declared model (``api.models.parse``), which
names the offending field by its dotted path (``assessment.source.source_type``) in MLflow's
message style, worded by ``missing`` and ``invalid``. Responses use snake_case names,
RFC 3339 timestamps and ``"0.250s"`` durations, as ``message_to_json`` would write them.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from annotrace.collector.errors import InvalidParameter, NotFound, PayloadTooLarge
from annotrace.collector.ids import trace_hex, trace_id

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 100
"""Arrays and objects nest at most this deep in a request (protobuf's JSON parser, which MLflow uses,
stops at 100 too). orjson writes at most 254 levels: a deeper value was accepted and then failed
to serialise, a 500."""
JSON_TYPES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def missing(path: str) -> InvalidParameter:
    return InvalidParameter(
        f"Missing value for required parameter '{path}'. See the API docs for more information about request "
        "parameters."
    )


def invalid(path: str, expected: str, value: Any) -> InvalidParameter:
    got = JSON_TYPES.get(type(value), type(value).__name__)
    shown = orjson.dumps(value, default=str).decode()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return InvalidParameter(f"Invalid value {shown} for parameter '{path}' supplied: expected {expected}, got {got}.")


def nesting_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0), counting no further than ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str | bytes, path: str, what: str = "JSON text") -> Any:
    """JSON text from a client, parsed; 400 naming ``path`` if it is not JSON or nests too deep."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"Invalid value for parameter '{path}': not valid {what} ({exc}).") from None
    if nesting_depth(value) > MAX_JSON_DEPTH:
        raise InvalidParameter(
            f"Invalid value for parameter '{path}': arrays and objects nest deeper than {MAX_JSON_DEPTH} levels."
        )
    return value


async def json_body(request: Request, *, content_type_required: bool = True) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body), for a route's model to check
    (``models.parse``); POST bodies must say ``application/json`` (as in MLflow)."""
    if content_type_required:
        content_type = request.headers.get("content-type")
        if content_type is None:
            raise InvalidParameter("Bad Request. Content-Type header is missing.")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise InvalidParameter("Bad Request. Content-Type must be one of ['application/json'].")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Request body is larger than the limit of {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"Malformed JSON request body: {exc}") from None
    if nesting_depth(data) > MAX_JSON_DEPTH:
        raise InvalidParameter(f"Invalid request body: arrays and objects nest deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(data, dict):
        raise invalid("(request body)", "a JSON object", data)
    return data


def path_trace_id(request: Request, name: str = "trace_id") -> str:
    """The path's trace id as stored (``tr-`` + 32 hex)."""
    return stored_trace_id(request.path_params[name])


def stored_trace_id(value: str) -> str:
    """A trace id as stored, with or without ``tr-``; anything else cannot exist, so 404."""
    try:
        return trace_id(trace_hex(value))
    except InvalidParameter:
        raise NotFound(f"Trace with ID '{value}' not found. (A trace id is 'tr-' followed by 32 hex digits.)") from None


def body_trace_ids(values: list[str], path: str) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(trace_id(trace_hex(value, path)))
        except InvalidParameter:
            raise InvalidParameter(
                f"Invalid value '{value}' in parameter '{path}': expected 'tr-' followed by 32 hex digits."
            ) from None
    return out


def ok(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def rfc3339(value: datetime) -> str:
    """Protobuf Timestamp JSON: UTC, 'Z', 0/3/6 fraction digits (stored times are naive UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    if micros == 0:
        return text + "Z"
    if micros % 1000 == 0:
        return f"{text}.{micros // 1000:03d}Z"
    return f"{text}.{micros:06d}Z"


def duration(milliseconds: float) -> str:
    """Protobuf Duration JSON: seconds with 0, 3, 6 or 9 fraction digits (``"0.250s"``)."""
    nanos = round(milliseconds * 1_000_000)
    seconds, fraction = divmod(nanos, 1_000_000_000)
    if fraction == 0:
        return f"{seconds}s"
    if fraction % 1_000_000 == 0:
        return f"{seconds}.{fraction // 1_000_000:03d}s"
    if fraction % 1_000 == 0:
        return f"{seconds}.{fraction // 1_000:06d}s"
    return f"{seconds}.{fraction:09d}s"


def epoch_ms(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1000) if value.tzinfo is None else int(value.timestamp() * 1000)


def page_token(offset: int, scope: str) -> str:
    """An opaque token for the next page, bound to the search it came from."""
    payload = orjson.dumps({"offset": offset, "scope": _scope_hash(scope)})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def page_offset(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["offset"]
        same = data["scope"] == _scope_hash(scope)
    except (ValueError, KeyError, TypeError):
        raise InvalidParameter("Invalid value for parameter 'page_token': not a token returned by this API.") from None
    if not same or not isinstance(offset, int) or offset < 0:
        raise InvalidParameter(
            "Invalid value for parameter 'page_token': it belongs to a different search (filter, order or locations "
            "changed)."
        )
    return offset


def _scope_hash(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]
