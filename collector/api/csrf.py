"""One middleware that decides which write requests (POST, PUT, PATCH, DELETE) reach a handler, so
no web page elsewhere can make a user's browser write to the collector.

A browser sends a cross-site request without asking first (no CORS preflight) only when its body
is a form (``application/x-www-form-urlencoded``, ``multipart/form-data``) or ``text/plain``. So:

==================  ==============================================  ==========================
path                body must be                                    ``Origin`` header
==================  ==============================================  ==========================
MLflow's RPCs       POST/PUT: ``application/json``, refused as       absent or this collector's
                    MLflow refuses it (400, its wording); PATCH
                    and DELETE: not checked, as in MLflow (a
                    browser preflights them cross-site)
artifact uploads    PUT ``mlflow-artifacts/artifacts/<path>``: any   absent or this collector's
                    type (file bytes; PUT is always preflighted)
other ``/api``      JSON (``application/json``, ``*+json``)         absent or this collector's
pages               JSON or a form (the Review App posts forms      absent or this collector's
                    without JS)
==================  ==============================================  ==========================

A request without a body needs no content type (except an MLflow POST, as in MLflow). Anything
else is refused before any handler runs: a wrong type with 415 (UNSUPPORTED_MEDIA_TYPE), another origin with 403
(PERMISSION_DENIED). Clients that are not browsers (the MLflow client, the SDK, curl) send no
``Origin`` and are not affected.

OTLP/HTTP (``/v1/*`` here, every path of the OTLP port) is not this module's: exporters post from
any origin by design (OTel JS sends ``Origin``), and its receiver accepts only the OTLP/HTTP
specification's two types, ``application/x-protobuf`` and ``application/json``, answering others
with a 415 in OTLP's own error shape (``receivers.otlp_decode.media_type``). Neither is sent by a
cross-site form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from annotrace.collector.errors import (
    CollectorError,
    InvalidParameter,
    PermissionDenied,
    UnsupportedMediaType,
    envelope,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OTLP_PREFIX = "/v1/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIXES = ("/api/", "/ajax-api/")
MLFLOW_PATH = re.compile(r"/(api|ajax-api)/[0-9.]+/mlflow/")
# MLflow's artifact proxy takes file bytes of any type; PUT is never sent cross-site without a preflight
ARTIFACT_UPLOAD = re.compile(r"/(api|ajax-api)/[0-9.]+/mlflow-artifacts/artifacts/")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _has_body(headers: Headers) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in ("", "0")


def _own_origins(scope: Scope, headers: Headers) -> list[str]:
    """This collector as the browser sees it: the Host it was asked for, or, behind a reverse proxy,
    the host the proxy says it forwarded (a cross-site form cannot set ``X-Forwarded-*`` headers:
    a browser asks first, and nothing here answers a preflight)."""
    own = [f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()]
    forwarded = headers.get("x-forwarded-host")
    if forwarded:
        proto = headers.get("x-forwarded-proto", scope.get("scheme", "http"))
        own.append(f"{proto.split(',')[0].strip()}://{forwarded.split(',')[0].strip()}".lower())
    return own


def refusal(scope: Scope) -> CollectorError | None:
    """Why this request may not reach a handler, or None."""
    path: str = scope.get("path", "")
    if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or path.startswith(OTLP_PREFIX):
        return None
    headers = Headers(scope=scope)
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    allowed: tuple[str, ...] = ("application/json",)
    ok = _is_json(media_type)
    if not path.startswith(API_PREFIXES):
        allowed, ok = (*allowed, *FORM_TYPES), ok or media_type in FORM_TYPES
    mlflow = MLFLOW_PATH.match(path) is not None
    if mlflow and scope["method"] in ("POST", "PUT") and "content-type" not in headers:
        return InvalidParameter("Bad Request. Content-Type header is missing.")
    if mlflow and scope["method"] in ("POST", "PUT") and media_type != "application/json":
        return InvalidParameter("Bad Request. Content-Type must be one of ['application/json'].")
    upload = scope["method"] == "PUT" and ARTIFACT_UPLOAD.match(path) is not None
    if not mlflow and not upload and not ok and (media_type or _has_body(headers)):
        return UnsupportedMediaType(
            f"Unsupported Content-Type '{media_type}' for {scope['method']} {path}: expected {' or '.join(allowed)}"
        )
    origin = headers.get("origin")
    own = _own_origins(scope, headers)
    if origin is not None and origin.rstrip("/").lower() not in own:
        return PermissionDenied(f"Cross-origin request refused: Origin '{origin}' is not this collector ({own[0]})")
    return None


class CSRFMiddleware:
    """Refuses what ``refusal`` names, with MLflow's error envelope; passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = refusal(scope)
        if error is None:
            await self.app(scope, receive, send)
            return
        await JSONResponse(envelope(error), status_code=error.http_status)(scope, receive, send)
