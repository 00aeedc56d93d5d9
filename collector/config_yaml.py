"""The text of a config file: YAML with environment references, before any typing.

A duplicate key is an error (PyYAML would keep the last one silently). ``${env:NAME}``, ``${NAME}``,
``${env:NAME:-default}`` and ``$$`` are substituted as otelcol's envprovider does: a value that is
exactly one reference is parsed again as YAML (``"8"`` -> 8) but remembers its text, which a str field
keeps (``config_models``); an unset variable is empty text. Also the error helpers every config
message goes through, so each one starts with its config path (``processors::batch::timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from annotrace.collector.errors import ConfigError

_ENV_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # otelcol confmap/provider/envprovider
_WHOLE_REF_RE = re.compile(r"\$\{[^}]*\}")
_REF_RE = re.compile(r"\$\$|\$\{([^}]*)(\}?)")  # an empty group 2 means an unterminated "${"


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


def parse_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; a syntax error names ``source``, line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:  # MarkedYAMLError says where; a ReaderError (bad bytes) does not
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        detail = "; ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None))))
        raise ConfigError(f"{where}: invalid YAML: {detail or exc}") from None


@dataclass(frozen=True, slots=True)
class Expanded:
    """A value that was exactly one ``${...}``: the text substituted, and that text parsed as YAML."""

    value: Any
    raw: str  # str fields keep this verbatim
    ref: str  # what the file said, e.g. "${env:PORT}", for error messages
    unset: bool  # the variable was unset and had no default


def substitute(node: Any, path: str, env: Mapping[str, str]) -> Any:
    """Expand references in every scalar value (not in keys), before any typing; a whole-value
    reference becomes an ``Expanded``."""
    if isinstance(node, list):
        return [substitute(item, join(path, str(i)), env) for i, item in enumerate(node)]
    if isinstance(node, dict):
        return {key: substitute(value, join(path, str(key)), env) for key, value in node.items()}
    if not isinstance(node, str) or "$" not in node:
        return node
    if _WHOLE_REF_RE.fullmatch(node):
        raw, unset = _resolve(node[2:-1], path, env)
        try:
            value = yaml.load(raw, Loader=_Loader)
        except yaml.YAMLError:
            value = raw
        return Expanded(value, raw, node, unset)

    def replace(match: re.Match[str]) -> str:  # "$$" -> "$"; a bare "$NAME" is not a reference
        if match[0] == "$$":
            return "$"
        if not match[2]:
            raise error(path, f"unterminated ${{ in {node!r}; write $$ for a literal $")
        return _resolve(match[1], path, env)[0]

    return _REF_RE.sub(replace, node)


def _resolve(ref: str, path: str, env: Mapping[str, str]) -> tuple[str, bool]:
    """The text for ``${ref}``, and whether it came from an unset variable without a default."""
    name, has_default, default = (ref[4:] if ref.startswith("env:") else ref).partition(":-")
    if not _ENV_NAME_RE.fullmatch(name):
        raise error(
            path,
            f"invalid reference ${{{ref}}}: only ${{env:NAME}}, ${{NAME}} and "
            "${env:NAME:-default} are supported, with NAME matching "
            "[a-zA-Z_][a-zA-Z0-9_]*; write $$ for a literal $",
        )
    value = env.get(name)  # as otelcol's envprovider: the default applies only when unset
    if value is not None:
        return value, False
    return (default, False) if has_default else ("", True)


def plain(node: Any) -> Any:
    """The value YAML gave ``node``, whether or not it was a reference."""
    return node.value if isinstance(node, Expanded) else node


def describe(node: Any) -> str:
    """``null``, ``a list``, ``str 'abc'``...; says where the value came from if it was a ``${...}``."""
    value = plain(node)
    if isinstance(value, dict | list | None):
        text = "null" if value is None else "a mapping" if isinstance(value, dict) else "a list"
    else:
        shown = repr(value)
        text = f"{type(value).__name__} {shown if len(shown) <= 60 else shown[:57] + '...'}"
    if isinstance(node, Expanded):
        text += f" (from {node.ref}, which is not set)" if node.unset else f" (from {node.ref})"
    return text


def join(path: str, key: str) -> str:
    return f"{path}::{key}" if path else key


def error(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path or 'top level'}: {message}")
