"""Assembles the ASGI apps: the OTLP/HTTP port (receiver routes only) and the web port
(OTLP/HTTP routes too, plus the REST API and pages), behind the web port's read barrier."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from annotrace.collector import __version__
from annotrace.collector.api.csrf import CSRFMiddleware
from annotrace.collector.api.errors import HANDLERS, collector_error
from annotrace.collector.api.native.sql import sql_endpoint
from annotrace.collector.api.routes import api_routes
from annotrace.collector.auth.middleware import AuthMiddleware, protect, render_error
from annotrace.collector.errors import CollectorError, NotFound, PermissionDenied
from annotrace.collector.receivers import http as otlp_http
from annotrace.collector.store.access import Access
from annotrace.collector.store.sandbox import DEFAULT_LIMITS, SQLLimits
from annotrace.collector.web.page import error_page, is_page
from annotrace.collector.web.routes import web_routes

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from annotrace.collector.api.native.openapi import Health
    from annotrace.collector.auth.authenticator import Authenticator
    from annotrace.collector.pipeline.spool import Spool
    from annotrace.collector.receivers.ingest import Ingest
    from annotrace.collector.receivers.otlp import HTTPConfig
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer

log = logging.getLogger(__name__)

READ_WAIT_S = 10.0
"""The longest a request waits for acknowledged data to be stored. Idle, the wait is one decode
and one commit (a few ms); under load, the commits of everything acknowledged before it: a full
default backlog (256 MiB) stores in ~6 s at the ~40,000 spans/s this 2-core machine sustains (see
``make bench``). A store that needs longer is stalled or far behind (``/api/v1/health`` says so):
the request is then answered from what is stored, with a warning in the log, so a stalled store
does not also stall every page, and clients with 30 s timeouts still get an answer."""
NO_WAIT_PREFIXES = ("/v1/", "/static/", "/api/v1/health")
"""Ingest (which the barrier waits for, so it must never wait itself), static files, health."""


class ReadBarrier:
    """Read-your-writes for every REST call, SQL query and page of the web port.

    An export is acknowledged once it is durable in the spool, and stored a moment later. A client
    that exports a trace and then reads it (``search_traces`` on the line after the traced call,
    ``log_feedback`` on the trace just made, the stock mlflow client's ``StartTraceV3`` after its
    ``/v1/traces``) must see it, like Elasticsearch's ``refresh=wait_for``. So each request notes
    the spool's acknowledged sequence number on arrival and waits until the store has it
    (``Spool.when_stored``, which also hurries the pipeline). This is the one place that waits;
    handlers read and write as if ingestion were synchronous. Writes wait too: they reference
    traces (feedback, labeling items) and their 404s must be as true as a read's.
    """

    def __init__(self, app: ASGIApp, spool: Spool | None, wait_s: float = READ_WAIT_S) -> None:
        self.app = app
        self.spool = spool
        self.wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not str(scope["path"]).startswith(NO_WAIT_PREFIXES):
            await self.wait()
        await self.app(scope, receive, send)

    async def wait(self) -> None:
        """Until everything acknowledged so far is stored, or ``wait_s`` has passed."""
        spool = self.spool
        if spool is None:
            return
        target = spool.acknowledged()
        if spool.stored() >= target or spool.refusing is not None:  # refusing: the store cannot write now,
            return  # and waiting (``wait_s`` per request through a full-disk outage) would not change that
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not stored.done():
                stored.set_result(None)

        def wake() -> None:  # on the runner's thread
            loop.call_soon_threadsafe(resolve)

        if not spool.when_stored(target, wake):
            return
        try:
            await asyncio.wait_for(stored, self.wait_s)
        except TimeoutError:
            log.warning(
                "read barrier: record %d not stored after %.1f s (stored up to %d); answering with what is stored",
                target,
                self.wait_s,
                spool.stored(),
            )


def _otlp_error(error: CollectorError, scope: Scope) -> Response:
    """A refused export in OTLP's own shape (google.rpc.Status), in the request's encoding."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
    return otlp_http.error_response(error, "protobuf" if "protobuf" in content_type else "json")


async def _page_or_api_error(request: Request, exc: Exception) -> Response:
    """A page's NotFound or PermissionDenied as the HTML error page (pages are written for the case
    that works and raise the rest); any other error, and every API error, as MLflow's JSON envelope."""
    if is_page(request) and isinstance(exc, (NotFound, PermissionDenied)):
        return error_page(request, exc)
    return await collector_error(request, exc)


def _web_error(error: CollectorError, scope: Scope) -> Response:
    if str(scope["path"]).startswith("/v1/"):
        return _otlp_error(error, scope)
    return render_error(error, scope)


def otlp_http_app(ingest: Ingest, config: HTTPConfig, authenticator: Authenticator | None = None) -> Starlette:
    paths: dict[Any, str] = {
        "traces": config.traces_url_path,
        "logs": config.logs_url_path,
        "metrics": config.metrics_url_path,
    }
    app = Starlette(routes=otlp_http.routes(ingest, paths), exception_handlers=HANDLERS)
    if authenticator is not None:
        app.add_middleware(AuthMiddleware, authenticator=authenticator, ingest_only=True, renderer=_otlp_error)
    return app


def web_app(
    db: Database,
    writer: Writer,
    ingest: Ingest,
    service: Any,
    authenticator: Authenticator | None = None,
    sql_limits: SQLLimits = DEFAULT_LIMITS,
) -> Starlette:
    async def sql(request: Request) -> Response:
        return await sql_endpoint(request, db, sql_limits)

    async def health(request: Request) -> Response:
        """200 ``ok``, or 503 ``unavailable`` with the reason while exports are refused because
        the pipeline cannot store (a full disk, say) or the spool cannot write."""
        runner = service.runner
        spool = service.spool
        reasons = [r for r in (runner.stats.failing if runner else None, spool.recheck() if spool else None) if r]
        body: Health = {
            "status": "unavailable" if reasons else "ok",
            "version": __version__,
            "backlog_bytes": spool.backlog_bytes if spool else None,
            "unstored_records": spool.unstored_records if spool else None,
            "stored_items": runner.stats.items if runner else None,
            "dead_letters": runner.stats.dead_letters if runner else None,
            "set_aside_bytes": spool.set_aside_bytes if spool else None,
            "set_aside_records": spool.set_aside_records if spool else None,
        }
        if reasons:
            body["reason"] = "; ".join(reasons)
            body["failing_since"] = runner.stats.failing_since if runner else None
        return JSONResponse(
            body, status_code=503 if reasons else 200, headers={"Retry-After": "5"} if reasons else None
        )

    access = Access(db, writer)
    routes = [
        *otlp_http.routes(ingest),
        Route("/api/v1/sql", sql, methods=["POST"]),
        Route("/api/v1/health", health, methods=["GET"]),
        *api_routes(access),
        *web_routes(access),
    ]
    if authenticator is not None:
        routes = protect(routes, _web_error, access.read)
    app = Starlette(routes=routes, exception_handlers={**HANDLERS, CollectorError: _page_or_api_error})
    app.add_middleware(ReadBarrier, spool=service.spool)
    if authenticator is not None:  # before the barrier: a refused caller waits for nothing
        app.add_middleware(AuthMiddleware, authenticator=authenticator, renderer=_web_error)
    app.add_middleware(CSRFMiddleware)  # added last, so outermost: a refused write waits for nothing
    return app
