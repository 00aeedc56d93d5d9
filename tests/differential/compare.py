"""Normalising what must differ between two servers, and a field-by-field diff of the rest.

Only three things are normalised, each by the dict key it sits under, so everything else (names,
values, types, counts, order, missing keys, error codes) is compared exactly:

* **ids** under ``ID_KEYS`` become ``<key#n>``, numbered in order of first appearance, so two
  fields holding the same id still compare equal and a wrong reference does not. Ids of 16
  characters or more (run, trace, model, assessment ids) are also replaced where they appear
  inside other strings (``runs:/<run_id>/model``, a tag holding a run id); short ones
  (experiment ids like ``"1"``) only under their keys.
* **times** under ``TIME_KEYS`` become ``"<time>"``, but only when they are epoch milliseconds,
  seconds or an ISO string within a day of now: a fixed timestamp the script chose, or a
  0 / None where a time belongs, is still compared.
* **server addresses**: values under ``URI_KEYS`` (artifact locations, which name the server's
  storage) become ``"<uri>"``, and the tracking URI is replaced by ``"<tracking-uri>"`` inside
  any string.

Durations (``execution_time_ms``) are not normalised: a script that returns one should return
``duration >= 0`` or similar instead.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

ID_KEYS = frozenset(
    {
        "experiment_id",
        "experiment_ids",
        "run_id",
        "run_ids",
        "run_uuid",
        "trace_id",
        "trace_ids",
        "request_id",
        "model_id",
        "model_ids",
        "assessment_id",
        "assessment_ids",
        "dataset_id",
        "dataset_ids",
        "source_run_id",
        "overrides",
        "span_id",
        "parent_id",
        "parent_span_id",
        "scorer_id",
        "digest",
        "queue_id",
        "schema_id",
        "schema_ids",
        "item_id",
        "item_ids",
        "dataset_record_id",
    }
)
TIME_KEYS = frozenset(
    {
        "start_time",
        "end_time",
        "creation_time",
        "last_update_time",
        "timestamp",
        "creation_timestamp",
        "last_updated_timestamp",
        "request_time",
        "create_time",
        "created_time",
        "last_updated_time",
        "timestamp_ms",
        "start_time_ms",
        "end_time_ms",
        "creation_time_ms",
        "last_update_time_ms",
        "completed_time_ms",
    }
)
URI_KEYS = frozenset({"artifact_uri", "artifact_location", "model_uri", "storage_location"})
LONG_ID_CHARS = 16
DAY_S = 86400
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


def normalise(value: Any, tracking_uri: str) -> Any:
    """``value`` with ids, recent times and server addresses replaced (see the module docstring)."""
    ids: dict[str, str] = {}
    _collect_ids(value, ids, {})
    long_ids = sorted((v for v in ids if len(v) >= LONG_ID_CHARS), key=len, reverse=True)
    return _replace(value, None, ids, long_ids, tracking_uri.rstrip("/"))


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every place where ``actual`` (annotrace) differs from ``expected`` (the stock server)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in expected.keys() | actual.keys():
            if key not in actual:
                out.append(f"{path}.{key}: missing from annotrace (stock: {_short(expected[key])})")
            elif key not in expected:
                out.append(f"{path}.{key}: only in annotrace ({_short(actual[key])})")
            else:
                out += differences(expected[key], actual[key], f"{path}.{key}")
        return sorted(out)
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [
                f"{path}: {len(expected)} items from stock, {len(actual)} from annotrace "
                f"(stock: {_short(expected)}; annotrace: {_short(actual)})"
            ]
        return [line for i, (e, a) in enumerate(zip(expected, actual)) for line in differences(e, a, f"{path}[{i}]")]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: stock {_short(expected)} != annotrace {_short(actual)}"]
    return []


def _collect_ids(value: Any, ids: dict[str, str], counters: dict[str, int], key: str | None = None) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _collect_ids(v, ids, counters, k)
    elif isinstance(value, list):
        for item in value:
            _collect_ids(item, ids, counters, key)
    elif key in ID_KEYS and isinstance(value, str) and value and value not in ids:
        name = key.removesuffix("s") if key.endswith("_ids") else key
        counters[name] = counters.get(name, 0) + 1
        ids[value] = f"<{name}#{counters[name]}>"


def _replace(value: Any, key: str | None, ids: dict[str, str], long_ids: list[str], tracking_uri: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, k, ids, long_ids, tracking_uri) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(item, key, ids, long_ids, tracking_uri) for item in value]
    if key in TIME_KEYS and _is_recent_time(value):
        return "<time>"
    if key in URI_KEYS and isinstance(value, str):
        return "<uri>"
    if isinstance(value, str):
        if key in ID_KEYS and value in ids:
            return ids[value]
        for long_id in long_ids:
            if long_id in value:
                value = value.replace(long_id, ids[long_id])
        return value.replace(tracking_uri, "<tracking-uri>")
    return value


def _is_recent_time(value: Any) -> bool:
    now = time.time()
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return abs(seconds - now) < DAY_S
    if isinstance(value, str) and _ISO.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        stamp = parsed.timestamp() if parsed.tzinfo else parsed.replace(tzinfo=None).timestamp()
        return abs(stamp - now) < DAY_S
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."
