"""Field rules a route words itself, for the request models of ``models.py``: ``Check`` (a rule of
the route's own: MLflow's source types, serialization formats, update masks) and ``TextMap`` (tags
and metadata: an object of strings with key and size limits).

Why apart from ``models.py``: those field types are the wire's generic rules, worded by ``parse``
from pydantic's error types; these are the routes' own rules, worded by the route (MLflow's
``Invalid assessment source type: X. Valid source types: [...] ('<path>')`` puts the path at its
end). A rule raises ``InvalidParameter`` naming the field by ``models.PATH``, and ``parse`` puts
the dotted path there, so a body's faults are still found and named in field order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from pydantic_core import PydanticCustomError, core_schema

from annotrace.collector.api.mlflow.wire import invalid
from annotrace.collector.api.models import PATH
from annotrace.collector.errors import InvalidParameter

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue


def _named(message: str) -> PydanticCustomError:
    """An error worded as ``message``, with the field's path wherever ``PATH`` stands in it."""
    return PydanticCustomError("check", "{message}", {"message": message})


@dataclass(frozen=True)
class Check:
    """In ``Annotated`` after the field's type: ``check(value, PATH)`` returns the value to keep or
    raises ``InvalidParameter`` naming the field by ``PATH``. ``before`` runs it on the raw value
    first, for a rule that decides which fields apply (MLflow's oneof of feedback and expectation);
    a message without ``PATH`` is kept as it is."""

    check: Callable[[Any, str], Any]
    before: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        if self.before:
            return core_schema.no_info_before_validator_function(self._run, handler(source))
        return core_schema.no_info_after_validator_function(self._run, handler(source))

    def _run(self, value: Any) -> Any:
        try:
            return self.check(value, PATH)
        except InvalidParameter as exc:
            raise _named(exc.message) from None


@dataclass(frozen=True)
class TextMap:
    """A JSON object of strings (tags, metadata): each value a string, keys at most ``max_key_chars``
    characters, the whole at most ``max_bytes`` of JSON (so one request cannot bloat the store);
    a null is an absent value."""

    max_key_chars: int
    max_bytes: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "object", "additionalProperties": {"type": "string"}}

    def check(self, value: Any) -> dict[str, str] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _named(invalid(PATH, "an object of strings", value).message)
        for key, item in value.items():
            if not isinstance(item, str):
                raise _named(invalid(f"{PATH}.{key}", "a string", item).message)
            if len(key) > self.max_key_chars:
                raise _named(
                    f"Invalid value for parameter '{PATH}': key {key[:40]!r}... is longer than "
                    f"{self.max_key_chars} characters."
                )
        size = len(orjson.dumps(value))
        if size > self.max_bytes:
            raise _named(
                f"Invalid value for parameter '{PATH}': {size} bytes of JSON, more than the limit of {self.max_bytes}."
            )
        return dict(value)
