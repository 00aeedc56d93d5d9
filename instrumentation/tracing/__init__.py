"""Tracing: the ``@trace`` decorator, spans, and the OTel pipeline that ships them.

``attributes`` and ``context`` are stdlib-only; ``provider``/``processor``/``exporters`` load the
OTel SDK and are only imported when the first span starts.
"""

from __future__ import annotations

import sys

__all__ = ["flush_if_started"]


def flush_if_started() -> None:
    """Export the spans this process has ended so far, if it made any (never loads the OTel SDK).

    Every REST call calls this first (``client.rest``): a trace ended on the line before may still
    be on its way (its export runs on the export thread), and the collector must have it
    acknowledged before the call arrives to answer with it.
    """
    provider = sys.modules.get("annotrace.tracing.provider")
    if provider is not None:
        provider.flush()
