"""Tracing: the ``@trace`` decorator, spans, and the OTel pipeline that ships them.

``attributes`` and ``context`` are stdlib-only; ``provider``/``processor``/``exporters`` load the
OTel SDK and are only imported when the first span starts.
"""

from __future__ import annotations

import sys

__all__ = ["flush_if_started"]


def flush_if_started() -> None:
    """Export the spans this process has ended so far, if it made any (never loads the OTel SDK).

    REST calls that name a trace (``log_feedback`` right after the traced call, ``get_trace``)
    call this first: the batch exporter would otherwise hold the trace for up to 5 s and the
    collector would answer "not found".
    """
    provider = sys.modules.get("annotrace.tracing.provider")
    if provider is not None:
        provider.flush()
