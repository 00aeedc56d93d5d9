"""Identifier formats shared by every surface: ``tr-`` + 32 hex traces, 16-hex spans, ``a-`` ids.

APIs accept a trace id with or without ``tr-`` (ARCHITECTURE 3.2); ``trace_hex`` is the one
place that rule lives.
"""

from __future__ import annotations

import re
import uuid

from annotrace.collector.errors import InvalidParameter

TRACE_PREFIX = "tr-"
ASSESSMENT_PREFIX = "a-"
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def trace_id(hex32: str) -> str:
    """The public trace id for a 32-hex OTel trace id."""
    return TRACE_PREFIX + hex32


def trace_hex(value: str, field: str = "trace_id") -> str:
    """The 32-hex OTel trace id inside ``value`` (``tr-`` optional); raises naming ``field``."""
    raw = value[len(TRACE_PREFIX) :] if value.startswith(TRACE_PREFIX) else value
    raw = raw.lower()
    if not _HEX32.match(raw):
        raise InvalidParameter(f"Invalid {field} '{value}': expected 'tr-' followed by 32 hex digits")
    return raw


def span_hex(value: str, field: str = "span_id") -> str:
    raw = value.lower()
    if not _HEX16.match(raw):
        raise InvalidParameter(f"Invalid {field} '{value}': expected 16 hex digits")
    return raw


def new_assessment_id() -> str:
    return ASSESSMENT_PREFIX + uuid.uuid4().hex
