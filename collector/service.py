"""Builds the components a configuration names, wires them, starts them in order, stops them reversed.

Start: exporters (the store opens and migrates) -> spool (replays what a crash left) -> runner ->
receivers and web. Stop: receivers first (no new acks), then the runner drains everything already
acknowledged, then exporters flush and close. Ports actually bound (port 0 picks one) are in
``endpoints`` once ``start`` returns.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from annotrace.collector import registry
from annotrace.collector.app import otlp_http_app, web_app
from annotrace.collector.auth.authenticator import Authenticator
from annotrace.collector.config import CollectorConfig, ComponentID
from annotrace.collector.errors import ConfigError, Unavailable
from annotrace.collector.exporters.duckdb import DuckDBExporter
from annotrace.collector.extensions import SpoolConfig, WebConfig, auth_schemes, check_auth, entry_points
from annotrace.collector.pipeline.processors.batch import BatchConfig
from annotrace.collector.pipeline.runner import Pipeline, Runner
from annotrace.collector.pipeline.spool import Spool
from annotrace.collector.receivers.ingest import Ingest
from annotrace.collector.receivers.otlp import DEFAULT_MAX_MIB, OTLPReceiver, split_endpoint
from annotrace.collector.store.queries import experiments as experiment_queries
from annotrace.collector.store.queries.users import Snapshot, snapshot
from annotrace.collector.store.queries.users import version as users_version

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Endpoints:
    grpc: str | None = None
    http: str | None = None
    web: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"grpc": self.grpc, "http": self.http, "web": self.web}


@dataclass(slots=True)
class Service:
    config: CollectorConfig
    endpoints: Endpoints = field(default_factory=Endpoints)
    spool: Spool | None = None
    runner: Runner | None = None
    store: DuckDBExporter | None = None
    authenticator: Authenticator | None = None
    """Set when any listener has ``auth``: the users every listener's authenticator shares."""
    _receivers: dict[ComponentID, OTLPReceiver] = field(default_factory=dict)
    _processors: dict[ComponentID, Any] = field(default_factory=dict)
    _exporters: dict[ComponentID, Any] = field(default_factory=dict)
    _servers: list[uvicorn.Server] = field(default_factory=list)
    _loop_thread: threading.Thread | None = None
    _spool_lock: int | None = None  # the spool directory's lock file, held while running

    def start(self) -> Endpoints:
        config = self.config
        check_auth(config)
        spool_config = _extension(config, "spool", SpoolConfig)
        web_config = _extension(config, "web", WebConfig)
        for cid, cfg in config.exporters.items():
            exporter = registry.EXPORTERS[cid.type].create(cfg)
            exporter.start()
            self._exporters[cid] = exporter
            if isinstance(exporter, DuckDBExporter) and self.store is None:
                self.store = exporter
        if self.store is not None and self.store.db is not None:
            for exporter in self._exporters.values():
                if callable(attach := getattr(exporter, "attach_store", None)):
                    attach(self.store.db)  # e.g. otlp: forwards assessments read from the store
        self._start_authenticator()
        for cid, cfg in config.processors.items():
            processor = registry.PROCESSORS[cid.type].create(cfg)
            processor.start()
            self._processors[cid] = processor
        self._spool_lock = _lock_directory(
            Path(spool_config.directory), self.store.config.lock_timeout if self.store is not None else 10.0
        )
        self.spool = Spool(spool_config.directory, spool_config.max_backlog_mib * 1024 * 1024, fsync=spool_config.fsync)
        self.spool.open()
        pipelines, batch = [], BatchConfig()
        for pipeline in config.pipelines.values():
            if pipeline.signal == "metrics":  # ingest answers metrics exports and drops them
                log.warning(
                    "service::pipelines: metrics are accepted and dropped (annotrace stores traces and "
                    "logs); the metrics pipeline's exporters get nothing"
                )
                continue
            for pid in pipeline.processors:
                if pid.type == "batch":
                    batch = config.processors[pid]
            pipelines.append(
                Pipeline(
                    pipeline.signal,
                    frozenset(str(r) for r in pipeline.receivers),
                    [self._processors[p] for p in pipeline.processors],
                    [self._exporters[e] for e in pipeline.exporters],
                )
            )
        self.runner = Runner(
            self.spool,
            pipelines,
            send_batch_size=batch.send_batch_max_size or batch.send_batch_size,
            timeout_s=batch.timeout,
            workers=spool_config.worker_count(),
        )
        self.runner.start()
        for cid, cfg in config.receivers.items():
            receiver = registry.RECEIVERS[cid.type].create(str(cid), cfg, self.spool)
            if self.store is not None and self.store.db is not None:
                receiver.check_experiments_with(self._experiment_name, self._experiment_id)
            if receiver.grpc is not None and cfg.protocols.grpc.auth is not None:
                receiver.grpc.authenticator = self._authenticator_for(
                    cfg.protocols.grpc.auth, f"receivers::{cid}::protocols::grpc"
                )
            if receiver.grpc is not None:
                _listen(receiver.grpc.endpoint, f"receivers::{cid}::protocols::grpc").close()
            try:
                receiver.start()
            except RuntimeError as exc:  # grpc: the port was taken between the check above and now
                raise Unavailable(f"receivers::{cid}::protocols::grpc::endpoint: {exc}") from None
            self._receivers[cid] = receiver
            if receiver.grpc is not None and self.endpoints.grpc is None:
                self.endpoints.grpc = f"{split_endpoint(receiver.grpc.endpoint)[0]}:{receiver.grpc.port}"
        self._start_http(web_config)
        return self.endpoints

    def _experiment_name(self, experiment_id: str) -> str | None:
        assert self.store is not None and self.store.db is not None
        cursor = self.store.db.cursor()
        try:
            return experiment_queries.name_of(cursor, experiment_id)
        finally:
            cursor.close()

    def _experiment_id(self, name: str) -> str | None:
        assert self.store is not None and self.store.db is not None
        cursor = self.store.db.cursor()
        try:
            return experiment_queries.id_of(cursor, name)
        finally:
            cursor.close()

    def _start_http(self, web_config: WebConfig | None) -> None:
        loop = asyncio.new_event_loop()
        servers = []
        for cid, receiver in self._receivers.items():
            http_config = receiver.config.protocols.http
            if http_config is None or receiver.http_ingest is None:
                continue
            sock = _listen(http_config.endpoint, f"receivers::{cid}::protocols::http")
            app = otlp_http_app(
                receiver.http_ingest,
                http_config,
                None
                if http_config.auth is None
                else self._authenticator_for(http_config.auth, f"receivers::{cid}::protocols::http"),
            )
            servers.append((app, sock))
            if self.endpoints.http is None:
                self.endpoints.http = _url(sock)
        if web_config is not None:
            sock = _listen(web_config.endpoint, "extensions::web")
            if self.store is None or self.store.db is None or self.store.writer is None:
                raise ConfigError("extensions::web: needs a duckdb exporter in a pipeline")
            assert self.spool is not None
            ingest = Ingest(
                self.spool, "web", DEFAULT_MAX_MIB * 1024 * 1024, self._experiment_name, self._experiment_id
            )
            authenticator = (
                None if web_config.auth is None else self._authenticator_for(web_config.auth, "extensions::web")
            )
            app = web_app(self.store.db, self.store.writer, ingest, self, authenticator, web_config.sql)
            servers.append((app, sock))
            self.endpoints.web = _url(sock)
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            tasks = []
            for app, sock in servers:
                server = uvicorn.Server(
                    uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
                )
                self._servers.append(server)
                tasks.append(server.serve(sockets=[sock]))
            started.set()
            loop.run_until_complete(asyncio.gather(*tasks))

        self._loop_thread = threading.Thread(target=run, name="annotrace-http", daemon=True)
        self._loop_thread.start()
        started.wait()
        deadline = time.monotonic() + 30
        while not all(s.started for s in self._servers):
            if not self._loop_thread.is_alive() or time.monotonic() > deadline:
                raise OSError("extensions::web / receivers::otlp::protocols::http: HTTP servers did not start")
            time.sleep(0.01)

    def _start_authenticator(self) -> None:
        """Read the users once, if any listener checks its callers; warn when there are none."""
        if not any(auth is not None for _, _, auth in entry_points(self.config)):
            return
        if self.store is None or self.store.db is None:
            raise ConfigError("auth: authenticators read users from the store: configure a duckdb exporter")
        db = self.store.db

        def load() -> Snapshot:
            cursor = db.cursor()
            try:
                return snapshot(cursor)
            finally:
                cursor.close()

        def version() -> int:
            cursor = db.cursor()
            try:
                return users_version(cursor)
            finally:
                cursor.close()

        self.authenticator = Authenticator(load, frozenset(), version=version if db.is_lake else None)
        if not self.authenticator.user_count:
            log.warning(
                "auth: no users yet, so every authenticated listener refuses every call; stop the "
                "collector and run `annotrace users add NAME --role admin`"
            )

    def _authenticator_for(self, auth: Any, path: str) -> Authenticator:
        assert self.authenticator is not None
        return self.authenticator.for_schemes(auth_schemes(self.config, auth, path))

    def shutdown(self) -> None:
        """Stop accepting, store everything acknowledged, close. Safe twice."""
        for server in self._servers:
            server.should_exit = True
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=15)
            self._loop_thread = None
        self._servers.clear()
        for receiver in self._receivers.values():
            receiver.shutdown()
        self._receivers.clear()
        if self.runner is not None:
            self.runner.shutdown()
        for processor in self._processors.values():
            processor.shutdown()
        # the store last: other exporters may still read from it while they flush
        for exporter in sorted(self._exporters.values(), key=lambda e: e is self.store):
            exporter.shutdown()
        self._exporters.clear()
        if self.spool is not None:
            self.spool.close()
        if self._spool_lock is not None:
            os.close(self._spool_lock)  # releases the lock
            self._spool_lock = None

    def stopped_message(self) -> str:
        """The truth about what ``shutdown`` left: all stored, or how much waits in the spool."""
        if self.spool is None:
            return "stopped"
        left = self.spool.unstored_records
        if not left:
            return "stopped: everything acknowledged is stored"
        why = self.runner.stats.failing if self.runner is not None else None
        return (
            f"stopped: {left} acknowledged records ({self.spool.backlog_bytes} bytes) are not stored yet"
            f"{f' ({why})' if why else ''}; they stay in the spool at {self.spool.directory} and are stored"
            " at the next start"
        )


def _extension(config: CollectorConfig, kind: str, cls: type) -> Any:
    for cid in config.enabled_extensions:
        if cid.type == kind:
            return config.extensions[cid]
    if kind == "spool":
        return cls()
    return None


def _lock_directory(directory: Path, timeout_s: float) -> int:
    """Take ``directory/lock`` (an flock, which the kernel drops when the process dies, ``kill -9``
    included) for as long as this collector runs, waiting up to ``timeout_s`` for a collector still
    stopping; returns the open file. Two collectors on one spool, e.g. one started with another
    ``ANNOTRACE_DB`` but the same spool, would each replay, store and delete the other's records."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            if time.monotonic() >= deadline:
                os.close(fd)
                raise Unavailable(
                    f"extensions::spool::directory: {directory} is in use by process {holder} "
                    f"(another collector){f' after waiting {timeout_s:g} s' if timeout_s else ''}: "
                    "give each collector its own spool directory"
                ) from None
            if not waiting:
                waiting = True
                log.warning("waiting up to %g s for process %s to let go of the spool %s", timeout_s, holder, directory)
            time.sleep(0.2)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _listen(endpoint: str, path: str) -> socket.socket:
    """A listening socket on ``endpoint``; a busy or unusable address is one line naming the
    config key (``path::endpoint``), not a traceback. gRPC binds its own socket: ``start`` calls
    this first and closes the socket, so a busy gRPC port gets the same line (grpc would raise a
    RuntimeError after logging through its C core)."""
    host, port = split_endpoint(endpoint)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then; without it every kept-alive
    # response waited ~40 ms for Nagle (measured: health 44 ms -> 1 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = (
            " (is another collector running? stop it or choose another port)" if exc.errno == errno.EADDRINUSE else ""
        )
        raise Unavailable(f"{path}::endpoint: cannot listen on {endpoint}: {exc.strerror}{hint}") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"
