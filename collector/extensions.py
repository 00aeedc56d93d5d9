"""Annotrace's own extensions: ``web`` (REST API, pages and OTLP/HTTP on one port) and ``spool``,
and the checks of every listener's ``auth`` (the authenticators are in ``auth.settings``).

Kept as OpenTelemetry Collector extensions so the receivers/processors/exporters sections stay
compatible with the standard collector's configuration.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from annotrace.collector.auth.authenticator import Scheme
from annotrace.collector.auth.settings import AUTHENTICATOR_TYPES, AuthConfig
from annotrace.collector.config import CollectorConfig
from annotrace.collector.errors import ConfigError
from annotrace.collector.receivers.otlp import split_endpoint
from annotrace.collector.store.sandbox import SQLLimits

DEFAULT_WEB_ENDPOINT = "127.0.0.1:5000"
DEFAULT_SPOOL_DIRECTORY = "./annotrace-data/spool"
DEFAULT_MAX_BACKLOG_MIB = 256


@dataclass(frozen=True, kw_only=True, slots=True)
class WebConfig:
    endpoint: str = DEFAULT_WEB_ENDPOINT
    """host:port of the REST API, Review App and OTLP/HTTP routes."""
    auth: AuthConfig | None = None
    """Who may call: an authenticator extension (required to listen beyond loopback)."""
    sql: SQLLimits = field(default_factory=SQLLimits)
    """What one ``/api/v1/sql`` query may take: time, answer size, and a non-admin's memory."""

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


def entry_points(config: CollectorConfig) -> list[tuple[str, str, AuthConfig | None]]:
    """(config path, endpoint, auth) of every listener: OTLP gRPC and HTTP, and the web port."""
    found: list[tuple[str, str, AuthConfig | None]] = []
    for cid, receiver in config.receivers.items():
        protocols = getattr(receiver, "protocols", None)
        for name in ("grpc", "http"):
            listener = getattr(protocols, name, None)
            if listener is not None:
                found.append((f"receivers::{cid}::protocols::{name}", listener.endpoint, listener.auth))
    for cid in config.enabled_extensions:
        if cid.type == "web":
            web = config.extensions[cid]
            found.append((f"extensions::{cid}", web.endpoint, web.auth))
    return found


def auth_schemes(config: CollectorConfig, auth: AuthConfig, path: str) -> frozenset[Scheme]:
    """The schemes ``auth``'s authenticators accept; a reference to anything but an enabled
    authenticator extension is a ConfigError naming ``path``."""
    enabled = {str(cid): cid for cid in config.enabled_extensions}
    schemes: set[Scheme] = set()
    for ref in auth.ids:
        cid = enabled.get(ref)
        if cid is None:
            defined = (
                "configured but not listed in service::extensions"
                if any(str(c) == ref for c in config.extensions)
                else "not configured"
            )
            raise ConfigError(f'{path}::auth::authenticator: references extension "{ref}" which is {defined}')
        if cid.type not in AUTHENTICATOR_TYPES:
            raise ConfigError(
                f'{path}::auth::authenticator: extension "{ref}" is not an authenticator '
                f"(known: {', '.join(AUTHENTICATOR_TYPES)})"
            )
        schemes.add(AUTHENTICATOR_TYPES[cid.type])  # type: ignore[arg-type]
    return frozenset(schemes)


def check_auth(config: CollectorConfig) -> None:
    """Every ``auth`` reference resolves, and nothing listens beyond loopback without one: a team
    that binds to 0.0.0.0 must not be open to everyone who can reach the port."""
    for path, endpoint, auth in entry_points(config):
        if auth is not None:
            auth_schemes(config, auth, path)
            continue
        host = split_endpoint(endpoint)[0]
        if not _loopback(host):
            raise ConfigError(
                f"{path}::endpoint: {endpoint} can be reached from other machines, but no authenticator checks "
                "who calls it. Either listen on 127.0.0.1, or add a user and an authenticator: with the "
                "collector stopped run `annotrace users add alice --role admin` (then `annotrace tokens create "
                "alice` for programs), list `basicauth: {}` and `bearertokenauth: {}` under extensions and in "
                f"service::extensions, and set `auth: {{authenticator: [bearertokenauth, basicauth]}}` under {path} "
                "(README: Running for a team)"
            )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
