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


EXPERIMENT_ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
"""An experiment id as MLflow's tracking server makes them (and annotrace does): a decimal number,
"0" for Default, that fits MLflow's 64-bit column."""


def experiment_id(value: str, field: str = "experiment_id") -> str:
    """``value`` if it is an experiment id; raises naming ``field`` (a header or a body field)."""
    if not EXPERIMENT_ID_PATTERN.match(value):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InvalidParameter(f"Invalid {field} {shown!r}: an experiment id is a decimal number such as '0' or '123'")
    return value


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name something (an experiment, a label schema, a session, a dataset), or None.

    Control characters (NUL, newlines...) break logs, CSV exports and the pages; U+FFFD is what a
    decoder writes in place of bytes that were not text, so a name holding it was mangled on its way."""
    for char in name:
        if char == "\ufffd":
            return "contains U+FFFD (a replacement character: bytes that were not valid text)"
        if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            return f"contains the control character U+{ord(char):04X}"
    return None
