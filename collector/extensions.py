"""Annotrace's own extensions: ``web`` (REST API, pages and OTLP/HTTP on one port) and ``spool``.

Kept as OpenTelemetry Collector extensions so the receivers/processors/exporters sections stay
compatible with the standard collector's configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from annotrace.collector.receivers.otlp import split_endpoint

DEFAULT_WEB_ENDPOINT = "127.0.0.1:5000"
DEFAULT_SPOOL_DIRECTORY = "./annotrace-data/spool"
DEFAULT_MAX_BACKLOG_MIB = 256


@dataclass(frozen=True, kw_only=True, slots=True)
class WebConfig:
    endpoint: str = DEFAULT_WEB_ENDPOINT
    """host:port of the REST API, Review App and OTLP/HTTP routes."""

    def validate(self) -> None:
        split_endpoint(self.endpoint)


@dataclass(frozen=True, kw_only=True, slots=True)
class SpoolConfig:
    directory: str = DEFAULT_SPOOL_DIRECTORY
    """Where acknowledged exports wait (fsynced) until they are stored."""
    max_backlog_mib: int = DEFAULT_MAX_BACKLOG_MIB
    """Past this many MiB not yet stored, receivers answer RESOURCE_EXHAUSTED / 429."""
    fsync: bool = True
    """fsync before acknowledging; turn off only for throwaway data."""
    decode_workers: int = -1
    """Processes that decode and normalize batches; -1 = one per core but one, 0 = in the collector."""

    def validate(self) -> None:
        if self.max_backlog_mib <= 0:
            raise ValueError("max_backlog_mib must be positive")
        if self.decode_workers < -1:
            raise ValueError("decode_workers must be -1 (auto), 0 (in-process) or a count")

    def worker_count(self) -> int:
        if self.decode_workers >= 0:
            return self.decode_workers
        return max(1, (os.cpu_count() or 2) - 1)
