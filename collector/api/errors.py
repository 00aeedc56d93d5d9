"""Renders ``collector.errors`` as MLflow's JSON envelope; anything unexpected becomes a logged 500."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from annotrace.collector.errors import CollectorError, envelope

log = logging.getLogger(__name__)


async def collector_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CollectorError)
    headers = {"Retry-After": str(max(1, int(exc.retry_after_s)))} if exc.retry_after_s is not None else None
    return JSONResponse(envelope(exc), status_code=exc.http_status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "ENDPOINT_NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST"
    message = f"No endpoint {request.method} {request.url.path}" if exc.status_code in (404, 405) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return JSONResponse(envelope(code, message), status_code=exc.status_code, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: one path can have a route per method (MLflow's
    GET, PATCH and DELETE of an assessment), and Starlette's own ``Allow`` names only the first."""
    methods: set[str] = set()
    for route in getattr(request.app, "routes", []):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(envelope("INTERNAL_ERROR", f"Internal error: {type(exc).__name__}"), status_code=500)


HANDLERS = {CollectorError: collector_error, HTTPException: http_error, Exception: unexpected_error}
