"""Tracing: the ``@trace`` decorator, spans, and the OTel pipeline that ships them.

``attributes`` and ``context`` are stdlib-only; ``provider``/``processor``/``exporters`` load the
OTel SDK and are only imported when the first span starts.
"""
