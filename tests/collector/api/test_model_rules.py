"""Field types of the request models whose wording is the wire's own: ``TextMap`` (tags,
metadata) and ``Check`` (a route's rule, its message naming the field wherever MLflow puts it)."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

import pytest
from typing_extensions import TypedDict

from annotrace.collector.api.model_rules import Check, TextMap
from annotrace.collector.api.models import Text, parse
from annotrace.collector.errors import InvalidParameter


def _colour(value: str, path: str) -> str:
    if value not in ("red", "blue"):
        raise InvalidParameter(f"Unknown colour: {value}. ('{path}')")
    return value.upper()


def _not_both(raw: Any, path: str) -> Any:
    if isinstance(raw, dict) and "a" in raw and "b" in raw:
        raise InvalidParameter(f"Set one of '{path}.a' and '{path}.b', not both.")
    return raw


class Inner(TypedDict):
    a: NotRequired[Annotated[str, Text()]]
    b: NotRequired[Annotated[str, Text()]]
    colour: NotRequired[Annotated[str, Text(), Check(_colour)]]


class Body(TypedDict):
    inner: Annotated[Inner, Check(_not_both, before=True)]
    tags: NotRequired[Annotated[dict[str, str], TextMap(max_key_chars=5, max_bytes=40)] | None]


def _message(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidParameter) as caught:
        parse(Body, data, "request")
    return caught.value.message


def test_a_check_keeps_its_value_and_names_the_field_where_its_message_does() -> None:
    assert parse(Body, {"inner": {"colour": "red"}, "tags": {"k": "v"}}) == {
        "inner": {"colour": "RED"},
        "tags": {"k": "v"},
    }
    assert _message({"inner": {"colour": "green"}}) == "Unknown colour: green. ('request.inner.colour')"
    assert _message({"inner": {"a": "x", "b": "y"}}) == "Set one of 'request.inner.a' and 'request.inner.b', not both."


def test_a_before_check_runs_before_the_fields_it_decides_on() -> None:
    assert _message({"inner": {"a": 1, "b": "y"}}) == "Set one of 'request.inner.a' and 'request.inner.b', not both."
    assert "'request.inner' supplied: expected an object" in _message({"inner": 3})


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            ["k"],
            "Invalid value [\"k\"] for parameter 'request.tags' supplied: expected an object of strings, got a list.",
        ),
        ({"k": 1}, "Invalid value 1 for parameter 'request.tags.k' supplied: expected a string, got an integer."),
        ({"longkey": "v"}, "Invalid value for parameter 'request.tags': key 'longkey'... is longer than 5 characters."),
        ({"k": "v" * 40}, "Invalid value for parameter 'request.tags': 48 bytes of JSON, more than the limit of 40."),
    ],
)
def test_a_text_map_refuses_what_the_store_would_not_keep(tags: Any, message: str) -> None:
    assert _message({"inner": {}, "tags": tags}) == message
