"""Protobuf's JSON mapping for the few well-known types MLflow's REST shapes use, in pure Python.

MLflow builds its entity dictionaries with ``MessageToDict`` on protobuf messages; the entities
here must produce the same JSON without importing protobuf (they are stdlib only, so the collector
and a bare ``import annotrace.entities`` stay light). The rules copied, and why they matter:

- ``Timestamp`` is RFC 3339 in UTC with ``Z`` and 0, 3, 6 or 9 fraction digits
  (``2025-06-01T10:00:00.123Z``); ``ToMilliseconds`` floors, so parsing does too.
- ``Duration`` is seconds with an ``s`` suffix (``"0.250s"``); ``ToMilliseconds`` truncates.
- ``google.protobuf.Value`` stores every number as a double, so a feedback value ``4`` comes back
  as ``4.0`` from ``to_dictionary()`` (booleans stay booleans). ``proto_value`` applies that.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "duration_from_json",
    "duration_to_json",
    "proto_value",
    "timestamp_from_json",
    "timestamp_to_json",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")


def timestamp_to_json(milliseconds: int) -> str:
    """``Timestamp.FromMilliseconds(ms)`` then ``ToJsonString()``."""
    seconds, millis = divmod(int(milliseconds), 1000)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def timestamp_from_json(text: str) -> int:
    """RFC 3339 text -> milliseconds since the epoch (floored, as ``Timestamp.ToMilliseconds``)."""
    match = _TIMESTAMP.match(str(text).strip())
    if match is None:
        raise ValueError(f"Invalid RFC 3339 timestamp: {text!r}")
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    moment = datetime.fromisoformat(f"{day}T{clock}{zone}")
    nanos = int((fraction or "0").ljust(9, "0"))
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + nanos // 1_000_000


def duration_to_json(milliseconds: int) -> str:
    """``Duration.FromMilliseconds(ms)`` then ``ToJsonString()``."""
    sign = "-" if milliseconds < 0 else ""
    seconds, millis = divmod(abs(int(milliseconds)), 1000)
    return f"{sign}{seconds}.{millis:03d}s" if millis else f"{sign}{seconds}s"


def duration_from_json(text: str) -> int:
    """``"1.5s"`` -> 1500 milliseconds (truncated toward zero, as ``Duration.ToMilliseconds``)."""
    match = _DURATION.match(str(text).strip())
    if match is None:
        raise ValueError(f"Invalid protobuf duration: {text!r}")
    negative, seconds, fraction = match.groups()
    millis = int(seconds) * 1000 + int((fraction or "0").ljust(9, "0")) // 1_000_000
    return -millis if negative else millis


def proto_value(value: Any) -> Any:
    """A JSON value as it comes out of ``google.protobuf.Value``: numbers become floats."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {str(key): proto_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [proto_value(item) for item in value]
    return value
