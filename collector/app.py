"""Assembles the ASGI apps: the OTLP/HTTP port (receiver routes only) and the web port
(OTLP/HTTP routes too, plus the REST API and pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from annotrace.collector import __version__
from annotrace.collector.api.errors import HANDLERS
from annotrace.collector.store.access import Access
from annotrace.collector.api.native.sql import sql_endpoint
from annotrace.collector.api.routes import api_routes
from annotrace.collector.receivers import http as otlp_http
from annotrace.collector.web.routes import web_routes

if TYPE_CHECKING:
    from annotrace.collector.receivers.ingest import Ingest
    from annotrace.collector.receivers.otlp import HTTPConfig
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer


def otlp_http_app(ingest: Ingest, config: HTTPConfig) -> Starlette:
    paths: dict[Any, str] = {
        "traces": config.traces_url_path, "logs": config.logs_url_path, "metrics": config.metrics_url_path
    }
    return Starlette(routes=otlp_http.routes(ingest, paths), exception_handlers=HANDLERS)


def web_app(db: Database, writer: Writer, ingest: Ingest, service: Any) -> Starlette:
    async def sql(request: Request) -> Response:
        return await sql_endpoint(request, db)

    async def health(request: Request) -> Response:
        runner = service.runner
        spool = service.spool
        return JSONResponse({
            "status": "ok",
            "version": __version__,
            "backlog_bytes": spool.backlog_bytes if spool else None,
            "stored_items": runner.stats.items if runner else None,
            "dead_letters": runner.stats.dead_letters if runner else None,
        })

    api = Access(db, writer, pending=lambda: service.runner is not None and not service.runner.idle())
    routes = [
        *otlp_http.routes(ingest),
        Route("/api/v1/sql", sql, methods=["POST"]),
        Route("/api/v1/health", health, methods=["GET"]),
        *api_routes(api),
        *web_routes(api),
    ]
    return Starlette(routes=routes, exception_handlers=HANDLERS)
