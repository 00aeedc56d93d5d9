"""Request bodies as typed declarations checked by pydantic: one declaration gives the parsing,
MLflow's error wording and the OpenAPI schema of a body (``request_body``), so the document cannot
drift from what the server takes.

Why pydantic: its JSON Schema output feeds the OpenAPI document as is, and every error carries the
field's location, which ``parse`` turns into the dotted path MLflow's messages name
(``assessment.source.source_type``). Why bodies are ``TypedDict`` s and not ``BaseModel`` s: the
handlers read a few keys once, and a validated dict costs about what the hand-written reader did
(a model instance is about 0.2 us more per body; ``parse``'s docstring has the numbers). Why field
types of our own (``Text``, ``Integer``, ...): the wire's messages are MLflow's, worded per check
("expected a string, got an integer", "must not be empty"), and a JSON null is an absent value, as in
protobuf's JSON parser. Each type runs pydantic-core's own checks where they are the wire's rules,
and ``parse`` words the first error in field order, as a reader going field by field did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from annotrace.collector.api.mlflow.wire import invalid, missing
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.ids import name_problem

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.config import JsonDict
    from pydantic.json_schema import JsonSchemaValue

B = TypeVar("B")
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""A time in an answer: RFC 3339, UTC (``wire.rfc3339``)."""
NOT_NAME = r"\u0000-\u001f\u007f-\u009f\ufffd"
"""What ``ids.name_problem`` refuses, as a regular expression character class."""
_SPACES = [char for char in map(chr, range(0x110000)) if char.isspace()]
NOT_BLANK = "[^" + "".join(_SPACES) + "]"
"""A character ``str.strip`` keeps: a string holding one is not blank (pydantic-core's regex)."""
_SPACES_DOCUMENTED = "".join(f"\\u{ord(char):04x}" for char in _SPACES)
NOT_BLANK_DOCUMENTED = f"[^{_SPACES_DOCUMENTED}]"
"""The same, as the OpenAPI document's (ECMAScript) pattern: its ``\\s`` is not Python's whitespace."""


PATH = "\0"
"""The field's path in a message a route words itself (``model_rules.Check``): ``parse`` puts the
dotted path wherever it stands."""


def _wire(message: str, path_at: int) -> PydanticCustomError:
    """An error whose message is ``message`` with the field's path inserted at ``path_at``."""
    return PydanticCustomError("wire", "{head}{tail}", {"head": message[:path_at], "tail": message[path_at:]})


def _invalid(expected: str, value: Any) -> PydanticCustomError:
    text = invalid("\0", expected, value).message
    return _wire(text.replace("\0", ""), text.index("\0"))


def _problem(detail: str) -> PydanticCustomError:
    """``Invalid value for parameter '<path>': <detail>.``"""
    return _wire(f"Invalid value for parameter '': {detail}.", len("Invalid value for parameter '"))


def _missing() -> PydanticCustomError:
    text = missing("\0").message
    return _wire(text.replace("\0", ""), text.index("\0"))


def _expected(schema: core_schema.CoreSchema, expected: str) -> core_schema.CoreSchema:
    """``schema`` checked natively, any fault of it reported as "expected <expected>"."""
    return core_schema.custom_error_schema(
        schema, custom_error_type="expected", custom_error_message=expected, custom_error_context={"expected": expected}
    )


class _Field:
    """Base of the field types: a core schema (pydantic-core's own checks where the wire's rules
    are theirs, so a body costs about what the hand-written reader did) and its JSON Schema."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return self.core()

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.json_schema()

    def core(self) -> core_schema.CoreSchema:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError


class _Checked(_Field):
    """A field checked by its own ``check`` alone: the wire's rules for it are not pydantic-core's."""

    def core(self) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def check(self, value: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(_Field):
    """A string; ``non_empty`` refuses one that is only whitespace (every required string of the
    wire is: ``str.strip``'s whitespace, which no regular expression of pydantic-core matches
    exactly), ``name`` one that ``ids.name_problem`` refuses; a null is an absent value."""

    max_chars: int | None = None
    non_empty: bool = False
    empty_is_missing: bool = False
    """MLflow's ``_assert_required``: ``""`` is a missing value, a blank one passes on to the rules."""
    name: bool = False
    choices: tuple[str, ...] = ()
    documented: JsonDict = field(default_factory=dict, hash=False)
    """What the store checks and words itself, said in the document only (an enum, a pattern)."""

    def core(self) -> core_schema.CoreSchema:
        """pydantic-core's type, blank and length checks, in the hand-written reader's order (blank
        before too long: a chain, as one string schema checks the length first)."""
        schema: core_schema.CoreSchema
        if self.non_empty:
            schema = core_schema.str_schema(strict=True, pattern=NOT_BLANK)
            if self.max_chars is not None:
                schema = core_schema.chain_schema([schema, core_schema.str_schema(max_length=self.max_chars)])
        else:
            schema = core_schema.str_schema(strict=True, max_length=self.max_chars)
        if self.name or self.choices or self.empty_is_missing:
            return core_schema.no_info_after_validator_function(self.check, schema)
        return schema

    def check(self, value: str) -> str:
        if self.empty_is_missing and not value:
            raise _missing()
        if self.choices and value not in self.choices:
            raise _invalid("one of " + ", ".join(self.choices), value)
        if self.name:
            problem = name_problem(value)
            if problem is not None:
                raise _problem(f"it {problem}")
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.choices:
            out["enum"] = list(self.choices)
        if self.max_chars is not None:
            out["maxLength"] = self.max_chars
        if self.name:
            out["description"] = "not blank; no control characters or U+FFFD"
            out["pattern"] = rf"^[^{NOT_NAME}]*[^{_SPACES_DOCUMENTED}{NOT_NAME}][^{NOT_NAME}]*$"
        elif self.non_empty:
            out["pattern"] = NOT_BLANK_DOCUMENTED
        if self.empty_is_missing:
            out["minLength"] = 1
        return out | self.documented


@dataclass(frozen=True)
class Integer(_Checked):
    """An integer; as in protobuf's JSON mapping also a string of digits (int64) or an integral number,
    unless ``strict`` (a JSON integer only)."""

    minimum: int | None = None
    maximum: int | None = None
    strict: bool = False

    def check(self, value: Any) -> int:
        if value is None:
            raise _missing()
        if not self.strict and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not self.strict and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid("an integer", value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            bounds = (
                f"between {self.minimum} and {self.maximum}" if self.maximum is not None else f"at least {self.minimum}"
            )
            head = f"Invalid value {value} for parameter '"
            raise _wire(f"{head}': must be {bounds}.", len(head))
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class ProtoEnum(_Checked):
    """A protobuf enum as its JSON mapping takes it: a value's name, or its number (also as a string
    of digits); ``names[i]`` is number ``i``. Which numbers a route takes is the route's rule."""

    names: tuple[str, ...]

    def check(self, value: Any) -> int:
        if value is None:
            raise _missing()
        if isinstance(value, str) and value in self.names:
            return self.names.index(value)
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _invalid("one of " + ", ".join(self.names), value)

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"enum": list(self.names)}, {"type": "integer"}]}


@dataclass(frozen=True)
class Number(_Checked):
    """A number; in a query string, its text (``?threshold=0.5``)."""

    def check(self, value: Any) -> float:
        if value is None:
            raise _missing()
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _invalid("a number", value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number"}


@dataclass(frozen=True)
class Fraction(_Checked):
    """A number above 0 and at most 1 (a share, such as a sampling rate); an integer 1 is one."""

    def check(self, value: Any) -> float:
        if value is None:
            raise _missing()
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _invalid("a number above 0 and at most 1", value)
        if not 0 < value <= 1:
            head = f"Invalid value {value!r} for parameter '"
            raise _wire(f"{head}': must be above 0 and at most 1.", len(head))
        return float(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": 0, "maximum": 1}


@dataclass(frozen=True)
class Boolean(_Field):
    def core(self) -> core_schema.CoreSchema:
        return _expected(core_schema.bool_schema(strict=True), "a boolean")

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Object(_Field):
    """Any JSON object, kept as it came."""

    def core(self) -> core_schema.CoreSchema:
        return _expected(core_schema.dict_schema(strict=True), "an object")

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass(frozen=True)
class TextList(_Field):
    """A list of strings; ``max_items`` and ``items`` only describe it (the store checks each item
    where it names the item in its message)."""

    max_items: int | None = None
    items: Text = Text()

    def core(self) -> core_schema.CoreSchema:
        strings = core_schema.list_schema(core_schema.str_schema(strict=True), strict=True)
        return _expected(strings, "a list of strings")

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.items.json_schema()}
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        return out


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(body: Any) -> TypeAdapter[Any]:
    """The body's validator, built on first use (a TypeAdapter compiles its schema once)."""
    adapter = _ADAPTERS.get(body)
    if adapter is None:
        adapter = _ADAPTERS[body] = TypeAdapter(body)
    return adapter


def parse(body: type[B], data: dict[str, Any], prefix: str = "", messages: Mapping[str, str] | None = None) -> B:
    """``data`` as the ``TypedDict`` ``body`` (keys it does not declare dropped, as MLflow's parser
    ignores unknown fields); the first field that does not fit is a 400 in MLflow's wording, or
    ``messages[field]`` for routes whose wording is their own (``POST /api/v1/sql``).

    Cost, measured on a labeling answer (4 keys; 15 x 5,000 bodies, median CPU time per body):
    the hand-written ``wire.Fields`` reader it replaced (since removed) 0.75 us, this 1.0 us, a ``BaseModel`` about
    1.2 us. The whole answer request costs the collector ~18-23 ms CPU (1,000 requests against a real
    collector, old and new alike within that spread), so the difference does not show there."""
    try:
        return _adapter(body).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        message = None if messages is None else messages.get(str(error["loc"][0]))
        raise (InvalidParameter(message) if message is not None else _error(error, prefix)) from None


def _error(error: Any, prefix: str) -> InvalidParameter:
    path = _path(prefix, error["loc"])
    if error["type"] == "wire":
        return InvalidParameter(error["ctx"]["head"] + path + error["ctx"]["tail"])
    if error["type"] == "check":
        return InvalidParameter(error["ctx"]["message"].replace(PATH, path))
    if error["type"] == "missing" or error.get("input") is None:
        return missing(path)
    if error["type"] == "expected":
        return invalid(path, error["ctx"]["expected"], error["input"])
    if error["type"] == "string_type":
        return invalid(path, "a string", error["input"])
    if error["type"] == "string_pattern_mismatch":  # the one pattern checked here: NOT_BLANK
        return InvalidParameter(f"Invalid value for parameter '{path}': must not be empty.")
    if error["type"] == "string_too_long":
        limit = error["ctx"]["max_length"]
        return InvalidParameter(
            f"Invalid value for parameter '{path}': {len(error['input'])} characters, more than the limit of {limit}."
        )
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return invalid(path, "an object", error["input"])
    if error["type"] == "list_type":  # a list of declared objects (``list[SomeBody]``)
        return invalid(path, "a list", error["input"])
    return InvalidParameter(f"Invalid value for parameter '{path}': {error['msg']}.")


class _Document(GenerateJsonSchema):
    """JSON Schema for the OpenAPI document: no generated titles (the field names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode)
        out.pop("title", None)
        return out


def schema_of(body: type[Any]) -> dict[str, Any]:
    """The body's JSON Schema as an OpenAPI 3.1 request body schema (nested bodies inline under
    ``$defs``, which 3.1's JSON Schema dialect resolves). The docstring is for readers of the code,
    not a description for clients."""
    out = _adapter(body).json_schema(schema_generator=_Document)
    out.pop("description", None)
    return out


def request_body(body: type[Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema_of(body)}}}
