"""Load an OpenTelemetry Collector YAML file into one frozen, validated ``CollectorConfig``.

Checked once, at startup, as ``otelcol`` checks it: an unknown key, ``abc`` for a number or a pipeline
naming an undefined processor stops the collector with the config path (``processors::batch::timeout_s:
...``) instead of being ignored, and no code reads env vars or raw YAML afterwards. Config classes come
from the ``factories`` argument, so this module imports no component (STYLE §2.1).

Steps: parse YAML (a duplicate key is an error); substitute ``${env:NAME}``, ``${NAME}``,
``${env:NAME:-default}`` and ``$$`` (a whole-value reference is re-parsed as YAML, ``"8"`` -> 8, but a
str field keeps the text; an unset variable is empty text, as in otelcol); build each dataclass from its
type hints and ``validate()`` it; check ``service`` and the ids it references.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeAlias

import yaml

from annotrace.collector.errors import ConfigError

__all__ = ["CollectorConfig", "ComponentID", "ConfigError", "Factories", "PipelineConfig", "load", "load_text"]

# kind ("receivers", "processors", "exporters", "extensions") -> component type -> config class
Factories: TypeAlias = Mapping[str, Mapping[str, type]]

KINDS = ("receivers", "processors", "exporters", "extensions")
SIGNALS = ("traces", "metrics", "logs")
_SINGULAR = {kind: kind[:-1] for kind in KINDS}
_TYPE_RE = re.compile(r"[a-zA-Z][0-9a-zA-Z_]{0,62}")  # otelcol component/identifiable.go
_NAME_RE = re.compile(r"[^\s/\x00-\x1f\x7f]+")
_ENV_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # otelcol confmap/provider/envprovider
_WHOLE_REF_RE = re.compile(r"\$\{[^}]*\}")
_REF_RE = re.compile(r"\$\$|\$\{([^}]*)(\}?)")  # an empty group 2 means an unterminated "${"
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
_hints = cache(typing.get_type_hints)


@dataclass(frozen=True, slots=True)
class ComponentID:
    """A component id, ``type[/name]`` (``batch``, ``batch/fast``); ``type`` selects the factory."""

    type: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """One ``service::pipelines`` entry; processors run in the listed order."""

    signal: str
    name: str
    receivers: tuple[ComponentID, ...]
    processors: tuple[ComponentID, ...]
    exporters: tuple[ComponentID, ...]


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    """The whole validated configuration; the mappings are read-only and keep the file's order."""

    receivers: Mapping[ComponentID, Any]
    processors: Mapping[ComponentID, Any]
    exporters: Mapping[ComponentID, Any]
    extensions: Mapping[ComponentID, Any]
    pipelines: Mapping[str, PipelineConfig]  # "traces" or "traces/name"
    enabled_extensions: tuple[ComponentID, ...]
    log_level: str = "info"
    source: str = "<string>"


# The `service` section goes through the same typing as components, so its strictness is the same.
@dataclass(frozen=True, kw_only=True, slots=True)
class _Pipeline:
    receivers: tuple[str, ...] | None = None
    processors: tuple[str, ...] | None = None
    exporters: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class _Logs:
    level: Literal["debug", "info", "warn", "warning", "error"] = "info"  # otelcol (zap) says "warn"


@dataclass(frozen=True, kw_only=True, slots=True)
class _Telemetry:
    logs: _Logs = field(default_factory=_Logs)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Service:
    extensions: tuple[str, ...] | None = None
    pipelines: dict[str, _Pipeline] = field(default_factory=dict)
    telemetry: _Telemetry = field(default_factory=_Telemetry)


def load(
    path: str | os.PathLike[str], factories: Factories, environ: Mapping[str, str] | None = None
) -> CollectorConfig:
    """Read and validate the config file at ``path``; ``environ`` defaults to ``os.environ``."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        missing = isinstance(exc, FileNotFoundError)
        reason = "config file not found" if missing else f"cannot read config file: {exc}"
        raise ConfigError(f"{source}: {reason}") from None
    return load_text(text, factories, environ, source=source)


def load_text(
    text: str, factories: Factories, environ: Mapping[str, str] | None = None, source: str = "<string>"
) -> CollectorConfig:
    """Validate YAML ``text``; ``source`` names it in YAML syntax errors and in the result."""
    env = os.environ if environ is None else environ
    root = _mapping(_substitute(_parse_yaml(text, source), "", env), "")
    _reject_unknown(root, {*KINDS, "connectors", "service"}, "")
    if _plain(root.get("connectors")):
        raise _err("connectors", "not supported: annotrace has no connector components")
    sections = {kind: _load_section(kind, root.get(kind), factories.get(kind, {})) for kind in KINDS}
    service: _Service = _build(_Service, root.get("service"), "service")
    enabled = _refs(service.extensions, sections["extensions"], "extension", "service::extensions")
    pipelines = {key: _pipeline(key, body, sections) for key, body in service.pipelines.items()}
    level = service.telemetry.logs.level
    return CollectorConfig(
        **{kind: types.MappingProxyType(sections[kind]) for kind in KINDS},
        pipelines=types.MappingProxyType(pipelines),
        enabled_extensions=enabled,
        log_level="warning" if level == "warn" else level,
        source=source,
    )


class _Loader(yaml.SafeLoader):
    """A SafeLoader that rejects a key written twice in one mapping (PyYAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged in with `<<:` may be overridden; that is their purpose
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:  # MarkedYAMLError says where; a ReaderError (bad bytes) does not
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        detail = "; ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None))))
        raise ConfigError(f"{where}: invalid YAML: {detail or exc}") from None


@dataclass(frozen=True, slots=True)
class _Expanded:
    """A value that was exactly one ``${...}``: the text substituted, and that text parsed as YAML."""

    value: Any
    raw: str  # str fields keep this verbatim
    ref: str  # what the file said, e.g. "${env:PORT}", for error messages
    unset: bool  # the variable was unset and had no default


def _substitute(node: Any, path: str, env: Mapping[str, str]) -> Any:
    """Expand references in every scalar value (not in keys), before any typing."""
    if isinstance(node, list):
        return [_substitute(item, _join(path, str(i)), env) for i, item in enumerate(node)]
    if isinstance(node, dict):
        return {key: _substitute(value, _join(path, str(key)), env) for key, value in node.items()}
    if not isinstance(node, str) or "$" not in node:
        return node
    if _WHOLE_REF_RE.fullmatch(node):
        raw, unset = _resolve(node[2:-1], path, env)
        try:
            value = yaml.load(raw, Loader=_Loader)
        except yaml.YAMLError:
            value = raw
        return _Expanded(value, raw, node, unset)

    def replace(match: re.Match[str]) -> str:  # "$$" -> "$"; a bare "$NAME" is not a reference
        if match[0] == "$$":
            return "$"
        if not match[2]:
            raise _err(path, f"unterminated ${{ in {node!r}; write $$ for a literal $")
        return _resolve(match[1], path, env)[0]

    return _REF_RE.sub(replace, node)


def _resolve(ref: str, path: str, env: Mapping[str, str]) -> tuple[str, bool]:
    """The text for ``${ref}``, and whether it came from an unset variable without a default."""
    name, has_default, default = (ref[4:] if ref.startswith("env:") else ref).partition(":-")
    if not _ENV_NAME_RE.fullmatch(name):
        raise _err(
            path,
            f"invalid reference ${{{ref}}}: only ${{env:NAME}}, ${{NAME}} and "
            "${env:NAME:-default} are supported, with NAME matching "
            "[a-zA-Z_][a-zA-Z0-9_]*; write $$ for a literal $",
        )
    value = env.get(name)  # as otelcol's envprovider: the default applies only when unset
    if value is not None:
        return value, False
    return (default, False) if has_default else ("", True)


def _load_section(kind: str, node: Any, factories: Mapping[str, type]) -> dict[ComponentID, Any]:
    configs: dict[ComponentID, Any] = {}
    for key, body in _mapping(node, kind).items():
        path = _join(kind, key)
        cid = _parse_id(key, path)
        if cid.type not in factories:
            known = ", ".join(sorted(factories)) or "none"
            raise _err(path, f'unknown {_SINGULAR[kind]} type "{cid.type}"; known types: {known}')
        configs[cid] = _build(factories[cid.type], body, path)
    return configs


def _build(cls: type, node: Any, path: str) -> Any:
    """A config dataclass from a mapping (null means all defaults), then ``validate()``-d."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{path}: config class {cls!r} is not a dataclass")
    body = _mapping(node, path)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    _reject_unknown(body, {f.name for f in fields}, path)
    missing = [
        f.name
        for f in fields
        if f.name not in body and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise _err(path, f"missing required keys: {', '.join(missing)}")
    hints = _hints(cls)  # resolves the string annotations of `from __future__ import annotations`
    kwargs = {
        f.name: _convert(
            hints[f.name], body[f.name], _join(path, f.name), f.name.endswith("_s") or bool(f.metadata.get("duration"))
        )
        for f in fields
        if f.name in body
    }
    try:
        config = cls(**kwargs)
        if callable(validate := getattr(config, "validate", None)):
            validate()
    except ConfigError:
        raise
    except ValueError as exc:
        raise _err(path, str(exc)) from exc
    return config


def _convert(tp: Any, node: Any, path: str, duration: bool = False) -> Any:
    """``node`` as a ``tp``; the only coercions are int -> float and duration text -> seconds."""
    expanded = node if isinstance(node, _Expanded) else None
    value = _plain(node)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in args if arg is not types.NoneType]
        # Null is None, except that a present dataclass key (`grpc:`) means "enabled with defaults",
        # and a str field keeps non-blank text from a whole ${...} even if YAML reads it as null.
        if (
            len(options) < len(args)
            and value is None
            and not any(map(dataclasses.is_dataclass, options))
            and (expanded is None or str not in options or not expanded.raw.strip())
        ):
            return None
        failures: list[ConfigError] = []
        for option in options:
            try:
                return _convert(option, node, path, duration)
            except ConfigError as exc:
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        raise _type_error(" or ".join(_expected(option, duration) for option in options), node, path)
    if tp is Any or (tp is bool and isinstance(value, bool)) or (tp is int and type(value) is int):
        return value
    if tp is str and (expanded is not None or isinstance(value, str)):
        return expanded.raw if expanded is not None else value
    if tp is float and type(value) in (int, float):
        return float(value)
    if tp is float and duration and isinstance(value, str) and _DURATION_RE.fullmatch(value):
        seconds = sum(Decimal(number) * _UNITS[unit] for number, unit in _DURATION_PART_RE.findall(value))
        return float(-seconds if value.startswith("-") else seconds)
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise _type_error("one of " + ", ".join(map(repr, args)), node, path)
    if origin in (list, tuple, Sequence):  # tuple means tuple[X, ...]
        if isinstance(value, list):
            items = [_convert(args[0], item, _join(path, str(i)), duration) for i, item in enumerate(value)]
            return items if origin is list else tuple(items)
    elif origin in (dict, Mapping):
        if isinstance(value, dict):
            return {
                key: _convert(args[1], item, _join(path, key), duration) for key, item in _mapping(value, path).items()
            }
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, node, path)
    elif tp not in (str, bool, int, float):
        raise TypeError(f"{path}: unsupported config field type {tp!r}")
    raise _type_error(_expected(tp, duration), node, path)


def _expected(tp: Any, duration: bool) -> str:
    if tp is float and duration:
        return 'a duration ("200ms", "1s", "2m", "1h") or a number of seconds'
    if typing.get_origin(tp) in (list, tuple, Sequence):
        return "a list"
    return "a mapping" if typing.get_origin(tp) in (dict, Mapping) else getattr(tp, "__name__", repr(tp))


def _pipeline(key: str, body: _Pipeline, sections: dict[str, dict[ComponentID, Any]]) -> PipelineConfig:
    path = _join("service::pipelines", key)
    pipeline_id = _parse_id(key, path)
    if pipeline_id.type not in SIGNALS:
        raise _err(path, f'unknown signal "{pipeline_id.type}"; expected one of {", ".join(SIGNALS)}')
    ids = {
        kind: _refs(getattr(body, kind), sections[kind], _SINGULAR[kind], path, _join(path, kind))
        for kind in ("receivers", "processors", "exporters")
    }
    for kind in ("receivers", "exporters"):
        if not ids[kind]:
            raise _err(path, f"must have at least one {_SINGULAR[kind]}")
    return PipelineConfig(pipeline_id.type, pipeline_id.name, *ids.values())


def _refs(
    texts: Sequence[str] | None, defined: Mapping[ComponentID, Any], what: str, path: str, list_path: str | None = None
) -> tuple[ComponentID, ...]:
    """Parse listed ids, each defined and listed once; errors about a reference name ``path``."""
    ids: list[ComponentID] = []
    for i, text in enumerate(texts or ()):
        cid = _parse_id(text, _join(list_path or path, str(i)))
        if cid not in defined:
            raise _err(path, f'references {what} "{cid}" which is not configured')
        if cid in ids:
            raise _err(path, f'references {what} "{cid}" multiple times')
        ids.append(cid)
    return tuple(ids)


def _parse_id(text: str, path: str) -> ComponentID:
    type_, sep, name = text.partition("/")
    if not _TYPE_RE.fullmatch(type_):
        raise _err(path, f'invalid id "{text}": the type must match ^[a-zA-Z][0-9a-zA-Z_]{{0,62}}$')
    if sep and not _NAME_RE.fullmatch(name):
        raise _err(path, f'invalid id "{text}": the name after "/" must be non-empty, without whitespace or "/"')
    return ComponentID(type_, name)


def _plain(node: Any) -> Any:
    return node.value if isinstance(node, _Expanded) else node


def _mapping(node: Any, path: str) -> dict[str, Any]:
    """``node`` as a dict with str keys; null is an empty mapping."""
    value = _plain(node)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _type_error("a mapping", node, path)
    for key in value:
        if not isinstance(key, str):
            raise _err(path, f"keys must be strings, got {_describe(key)}")
    return value


def _reject_unknown(mapping: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
    if unknown := sorted(key for key in mapping if key not in allowed):
        raise _err(path, f"has invalid keys: {', '.join(unknown)}")


def _describe(node: Any) -> str:
    """``null``, ``a list``, ``str 'abc'``...; says where the value came from if it was a ``${...}``."""
    value = _plain(node)
    if isinstance(value, dict | list | None):
        text = "null" if value is None else "a mapping" if isinstance(value, dict) else "a list"
    else:
        shown = repr(value)
        text = f"{type(value).__name__} {shown if len(shown) <= 60 else shown[:57] + '...'}"
    if isinstance(node, _Expanded):
        text += f" (from {node.ref}, which is not set)" if node.unset else f" (from {node.ref})"
    return text


def _type_error(expected: str, node: Any, path: str) -> ConfigError:
    return _err(path, f"expected {expected}, got {_describe(node)}")


def _join(path: str, key: str) -> str:
    return f"{path}::{key}" if path else key


def _err(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path or 'top level'}: {message}")
