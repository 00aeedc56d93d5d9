"""Protobuf JSON of Timestamp, Duration and Value, as ``MessageToDict`` writes and reads them."""

from __future__ import annotations

import pytest

from annotrace.entities._proto_json import (
    duration_from_json,
    duration_to_json,
    proto_value,
    timestamp_from_json,
    timestamp_to_json,
)


@pytest.mark.parametrize(
    ("millis", "text"),
    [(1748772000123, "2025-06-01T10:00:00.123Z"), (1748772000000, "2025-06-01T10:00:00Z"), (0, "1970-01-01T00:00:00Z")],
)
def test_timestamps_both_ways(millis: int, text: str) -> None:
    assert timestamp_to_json(millis) == text
    assert timestamp_from_json(text) == millis


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2026-11-23T13:24:44.907718Z", 1795440284907),  # microseconds are floored, as ToMilliseconds
        ("2026-11-23T13:24:44.9077189Z", 1795440284907),
        ("2023-11-14T22:13:20Z", 1700000000000),
        ("2023-11-14T23:13:20+01:00", 1700000000000),
    ],
)
def test_timestamp_parsing(text: str, millis: int) -> None:
    assert timestamp_from_json(text) == millis


@pytest.mark.parametrize(("text", "millis"), [("0.250s", 250), ("0.000162886s", 0), ("1.9999s", 1999), ("3s", 3000)])
def test_durations(text: str, millis: int) -> None:
    assert duration_from_json(text) == millis


def test_duration_to_json() -> None:
    assert (duration_to_json(250), duration_to_json(3000)) == ("0.250s", "3s")


@pytest.mark.parametrize("bad", ["yesterday", "2025-06-01", ""])
def test_bad_timestamps_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        timestamp_from_json(bad)


def test_value_numbers_are_doubles() -> None:
    assert proto_value({"a": [1, 2.5, True, None, "x"]}) == {"a": [1.0, 2.5, True, None, "x"]}
    assert type(proto_value(4)) is float
    assert proto_value(False) is False
