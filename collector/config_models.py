"""Config dataclasses filled from YAML by pydantic, with otelcol's strictness and messages.

Components declare their configuration as frozen dataclasses with type hints (STYLE §2.1); this
module has pydantic check a YAML mapping against one, in strict mode: ``abc`` or ``true`` for an
int, ``1.5`` for an int, ``'yes'`` for a bool and an unknown key are errors, and an int is a float.
A duration is the explicit type ``Duration``: ``"200ms"``, ``"1m30s"`` (Go's time.ParseDuration)
or a number of seconds. After its fields, an object's ``validate()`` runs (a ``ValueError`` there is
reported at the object's path).

Pydantic checks a TypedDict made from each dataclass (the fields present, as the file gave them),
so the dataclass's own defaults fill the rest. Two YAML habits of otelcol's are kept on top:
a key present with no value (``grpc:``) means a nested config with its defaults, and a str field
keeps the text of a ``${...}`` reference that YAML would read as something else (``"0123"``).
Pydantic's errors become one ``ConfigError`` naming the config path, the first one a reader
would meet going down the file: unknown keys, then missing keys, then each field in order.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

import typing_extensions
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

from annotrace.collector.config_yaml import Expanded, describe, error, join, plain
from annotrace.collector.errors import ConfigError

__all__ = ["Duration", "build"]

_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}  # Go's time.ParseDuration
_DURATION_PART_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_RE = re.compile(rf"[+-]?(?:{_DURATION_PART_RE.pattern})+")
_DURATION_TEXT = 'a duration ("200ms", "1s", "2m", "1h") or a number of seconds'
_STRICT = ConfigDict(strict=True, extra="forbid")
_TYPED_DICT: Any = typing_extensions.TypedDict  # pydantic needs typing_extensions' before Python 3.12
_TYPE_NAMES = {"int_type": "int", "string_type": "str", "bool_type": "bool", "float_type": "float"}
_SHAPES = {"list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping"}


def _expected(text: str) -> PydanticCustomError:
    return PydanticCustomError("expected", "expected {expected}", {"expected": text})


def _seconds(node: Any) -> float:
    value = plain(node)
    if type(value) in (int, float):
        return float(value)
    if isinstance(value, str) and _DURATION_RE.fullmatch(value):
        seconds = sum(Decimal(number) * _UNITS[unit] for number, unit in _DURATION_PART_RE.findall(value))
        return float(-seconds if value.startswith("-") else seconds)
    raise _expected(_DURATION_TEXT)


Duration = Annotated[float, BeforeValidator(_seconds)]
"""Seconds, written as a Go duration (``"200ms"``, ``"1m30s"``) or a number."""


def build(cls: type, node: Any, path: str) -> Any:
    """A ``cls`` (a config dataclass) from ``node`` (null means all defaults), ``validate()``-d."""
    try:
        return _adapter(cls).validate_python(node)
    except ValidationError as exc:
        raise _config_error(exc, node, path) from None


@functools.cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(_typed(cls))


def _typed(tp: Any) -> Any:
    """``tp`` as pydantic should check it in a config: every YAML value is unwrapped from its
    ``Expanded`` (str fields take its text), and dataclasses are checked as TypedDicts."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return Annotated[(_typed(args[0]), *tp.__metadata__)]
    if origin is typing.Union or origin is types.UnionType:
        options = tuple(arg for arg in args if arg is not types.NoneType)
        nullable = len(options) < len(args)
        # None stays bare: pydantic checks ``X | None`` as a nullable X (paths without union tags)
        union: Any = typing.Union[(*map(_typed, options), *((types.NoneType,) if nullable else ()))]
        if len(options) == 1:
            return Annotated[union, BeforeValidator(functools.partial(_union_input, options, nullable))]
        expected = " or ".join(_expected_text(option) for option in options)
        return Annotated[
            union,
            Field(union_mode="left_to_right"),  # the first option that fits, as listed
            BeforeValidator(functools.partial(_union_input, options, nullable)),
            WrapValidator(functools.partial(_one_of, expected)),
        ]
    if origin is Literal:
        choices = "one of " + ", ".join(map(repr, args))
        return Annotated[tp, BeforeValidator(plain), WrapValidator(functools.partial(_one_of, choices))]
    if origin in (list, Sequence):
        return Annotated[list[_typed(args[0])], BeforeValidator(plain)]  # type: ignore[misc]
    if origin is tuple:  # tuple means tuple[X, ...]
        return Annotated[tuple[_typed(args[0]), ...], BeforeValidator(_as_tuple)]  # type: ignore[misc]
    if origin in (dict, Mapping):
        return Annotated[dict[str, _typed(args[1])], BeforeValidator(lambda node: _str_keys(plain(node)))]  # type: ignore[misc]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return Annotated[_fields(tp), BeforeValidator(_mapping), AfterValidator(functools.partial(_instance, tp))]
    if tp is str:
        return Annotated[str, BeforeValidator(_text)]
    if tp in (int, float, bool) or tp is Any:
        return Annotated[tp, BeforeValidator(plain)]
    raise TypeError(f"unsupported config field type {tp!r}")


@functools.cache
def _fields(cls: type) -> Any:
    """The TypedDict pydantic checks a mapping for ``cls`` against: its init fields, each required
    unless the dataclass has a default, no other key."""
    hints = typing.get_type_hints(cls, include_extras=True)  # resolves `from __future__ import annotations`
    fields = {}
    for f in dataclasses.fields(cls):
        if f.init:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            wrap = typing_extensions.Required if required else typing_extensions.NotRequired
            fields[f.name] = wrap[_typed(hints[f.name])]
    typed_dict = _TYPED_DICT(cls.__name__, fields, total=False)
    typed_dict.__pydantic_config__ = _STRICT
    return typed_dict


def _instance(cls: type, fields: dict[str, Any]) -> Any:
    config = cls(**fields)
    if callable(validate := getattr(config, "validate", None)):
        validate()
    return config


def _mapping(node: Any) -> Any:
    """A dataclass's mapping: null means all defaults."""
    value = plain(node)
    return {} if value is None else _str_keys(value)


def _str_keys(value: Any) -> Any:
    for key in value if isinstance(value, dict) else ():
        if not isinstance(key, str):
            raise PydanticCustomError("keys", "keys must be strings, got {got}", {"got": describe(key)})
    return value


def _text(node: Any) -> Any:
    return node.raw if isinstance(node, Expanded) else node


def _as_tuple(node: Any) -> Any:
    value = plain(node)
    return tuple(value) if isinstance(value, list) else value


def _union_input(options: tuple[Any, ...], nullable: bool, node: Any) -> Any:
    """Null is None, except that a present dataclass key (``grpc:``) means "enabled with defaults",
    and a str field keeps non-blank text from a whole ``${...}`` even if YAML reads it as null."""
    if not nullable or plain(node) is not None:
        return node
    if any(isinstance(option, type) and dataclasses.is_dataclass(option) for option in options):
        return {}
    if isinstance(node, Expanded) and str in options and node.raw.strip():
        return node
    return None


def _one_of(expected: str, node: Any, check: Callable[[Any], Any]) -> Any:
    try:
        return check(node)
    except ValidationError:
        raise _expected(expected) from None


def _expected_text(tp: Any) -> str:
    if tp == Duration:
        return _DURATION_TEXT
    origin = typing.get_origin(tp)
    if origin in (list, tuple, Sequence):
        return "a list"
    return "a mapping" if origin in (dict, Mapping) else getattr(tp, "__name__", repr(tp))


def _config_error(exc: ValidationError, node: Any, path: str) -> ConfigError:
    errors = exc.errors()
    first = min(errors, key=functools.partial(_reading_order, _first_seen(errors)))
    loc = first["loc"]
    if first["type"] in ("extra_forbidden", "missing"):
        keys = [str(e["loc"][-1]) for e in errors if e["type"] == first["type"] and e["loc"][:-1] == loc[:-1]]
        return error(_path(path, loc[:-1]), _keys_message(first["type"], keys))
    where = _path(path, loc)
    if first["type"] == "keys":
        return error(where, first["msg"])
    if first["type"] == "value_error":
        cause = first.get("ctx", {}).get("error")
        return cause if isinstance(cause, ConfigError) else error(where, str(cause))
    got = describe(_at(node, loc))
    if first["type"] == "expected":
        return error(where, f"expected {first.get('ctx', {})['expected']}, got {got}")
    expected = _TYPE_NAMES.get(first["type"]) or _SHAPES.get(first["type"])
    return error(where, f"expected {expected}, got {got}" if expected else first["msg"])


def _keys_message(kind: str, keys: list[str]) -> str:
    return (
        f"has invalid keys: {', '.join(sorted(keys))}"
        if kind == "extra_forbidden"
        else (f"missing required keys: {', '.join(keys)}")
    )


def _first_seen(errors: list[ErrorDetails]) -> dict[tuple[Any, ...], int]:
    """Each loc prefix -> the position of the first error under it: pydantic lists fields in order."""
    seen: dict[tuple[Any, ...], int] = {}
    for i, e in enumerate(errors):
        for n in range(len(e["loc"]) + 1):
            seen.setdefault(tuple(e["loc"][:n]), i)
    return seen


def _reading_order(seen: dict[tuple[Any, ...], int], e: ErrorDetails) -> tuple[tuple[int, int], ...]:
    """Going down the file: at each object its unknown keys, then its missing keys, then its fields
    in order, then its own ``validate()``."""
    loc = tuple(e["loc"])
    rank = {"extra_forbidden": 0, "missing": 1}.get(e["type"])
    steps = loc[:-1] if rank is not None else loc
    key = tuple((1, seen[steps[: n + 1]]) for n in range(len(steps)))
    return (*key, (0, rank) if rank is not None else (2, 0))


def _path(path: str, loc: tuple[int | str, ...]) -> str:
    for part in loc:
        path = join(path, str(part))
    return path


def _at(node: Any, loc: tuple[int | str, ...]) -> Any:
    """What the file gave at ``loc`` below ``node``, ``Expanded`` and all, for the message."""
    for part in loc:
        value = plain(node)
        if isinstance(value, dict):
            node = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            node = value[part]
        else:
            return None
    return node
