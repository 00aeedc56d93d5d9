"""Annotrace's own extensions: ``web`` (REST API, pages and OTLP/HTTP on one port) and ``spool``.

Kept as OpenTelemetry Collector extensions so the receivers/processors/exporters sections stay
compatible with the standard collector's configuration.
"""

from __future__ import annotations

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

    def validate(self) -> None:
        if self.max_backlog_mib <= 0:
            raise ValueError("max_backlog_mib must be positive")
