"""Load an OpenTelemetry Collector YAML file into one frozen, validated ``CollectorConfig``.

Checked once, at startup, as ``otelcol`` checks it: an unknown key, ``abc`` for a number or a pipeline
naming an undefined processor stops the collector with the config path (``processors::batch::timeout:
...``) instead of being ignored, and no code reads env vars or raw YAML afterwards. Config classes come
from the ``factories`` argument, so this module imports no component (STYLE §2.1).

Steps: parse YAML and substitute ``${env:NAME}`` references (``config_yaml``); have pydantic build
each component's config dataclass from its type hints and ``validate()`` it (``config_models``);
check ``service`` and the ids it references (here).
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from annotrace.collector.config_models import Duration, build
from annotrace.collector.config_yaml import describe, error, join, parse_yaml, plain, substitute
from annotrace.collector.errors import ConfigError

__all__ = [
    "CollectorConfig",
    "ComponentID",
    "ConfigError",
    "Duration",
    "Factories",
    "PipelineConfig",
    "load",
    "load_text",
]

# kind ("receivers", "processors", "exporters", "extensions") -> component type -> config class
Factories: TypeAlias = Mapping[str, Mapping[str, type]]

KINDS = ("receivers", "processors", "exporters", "extensions")
SIGNALS = ("traces", "metrics", "logs")
_SINGULAR = {kind: kind[:-1] for kind in KINDS}
_TYPE_RE = re.compile(r"[a-zA-Z][0-9a-zA-Z_]{0,62}")  # otelcol component/identifiable.go
_NAME_RE = re.compile(r"[^\s/\x00-\x1f\x7f]+")


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
    root = _mapping(substitute(parse_yaml(text, source), "", env), "")
    _reject_unknown(root, {*KINDS, "connectors", "service"}, "")
    if plain(root.get("connectors")):
        raise error("connectors", "not supported: annotrace has no connector components")
    sections = {kind: _load_section(kind, root.get(kind), factories.get(kind, {})) for kind in KINDS}
    service: _Service = build(_Service, root.get("service"), "service")
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


def _load_section(kind: str, node: Any, factories: Mapping[str, type]) -> dict[ComponentID, Any]:
    configs: dict[ComponentID, Any] = {}
    for key, body in _mapping(node, kind).items():
        path = join(kind, key)
        cid = _parse_id(key, path)
        if cid.type not in factories:
            known = ", ".join(sorted(factories)) or "none"
            raise error(path, f'unknown {_SINGULAR[kind]} type "{cid.type}"; known types: {known}')
        configs[cid] = build(factories[cid.type], body, path)
    return configs


def _pipeline(key: str, body: _Pipeline, sections: dict[str, dict[ComponentID, Any]]) -> PipelineConfig:
    path = join("service::pipelines", key)
    pipeline_id = _parse_id(key, path)
    if pipeline_id.type not in SIGNALS:
        raise error(path, f'unknown signal "{pipeline_id.type}"; expected one of {", ".join(SIGNALS)}')
    ids = {
        kind: _refs(getattr(body, kind), sections[kind], _SINGULAR[kind], path, join(path, kind))
        for kind in ("receivers", "processors", "exporters")
    }
    for kind in ("receivers", "exporters"):
        if not ids[kind]:
            raise error(path, f"must have at least one {_SINGULAR[kind]}")
    return PipelineConfig(pipeline_id.type, pipeline_id.name, *ids.values())


def _refs(
    texts: Sequence[str] | None, defined: Mapping[ComponentID, Any], what: str, path: str, list_path: str | None = None
) -> tuple[ComponentID, ...]:
    """Parse listed ids, each defined and listed once; errors about a reference name ``path``."""
    ids: list[ComponentID] = []
    for i, text in enumerate(texts or ()):
        cid = _parse_id(text, join(list_path or path, str(i)))
        if cid not in defined:
            raise error(path, f'references {what} "{cid}" which is not configured')
        if cid in ids:
            raise error(path, f'references {what} "{cid}" multiple times')
        ids.append(cid)
    return tuple(ids)


def _parse_id(text: str, path: str) -> ComponentID:
    type_, sep, name = text.partition("/")
    if not _TYPE_RE.fullmatch(type_):
        raise error(path, f'invalid id "{text}": the type must match ^[a-zA-Z][0-9a-zA-Z_]{{0,62}}$')
    if sep and not _NAME_RE.fullmatch(name):
        raise error(path, f'invalid id "{text}": the name after "/" must be non-empty, without whitespace or "/"')
    return ComponentID(type_, name)


def _mapping(node: Any, path: str) -> dict[str, Any]:
    """``node`` as a dict with str keys; null is an empty mapping."""
    value = plain(node)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(path, f"expected a mapping, got {describe(node)}")
    for key in value:
        if not isinstance(key, str):
            raise error(path, f"keys must be strings, got {describe(key)}")
    return value


def _reject_unknown(mapping: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
    if unknown := sorted(key for key in mapping if key not in allowed):
        raise error(path, f"has invalid keys: {', '.join(unknown)}")
