"""OTLP over HTTP: ``/v1/traces``, ``/v1/logs``, ``/v1/metrics`` as Starlette routes.

Mounted on the OTLP/HTTP port and on the web port. Protobuf and JSON, gzip and deflate; the reply
uses the request's encoding; errors are ``google.rpc.Status`` bodies with the status code from
``collector.errors`` and ``Retry-After`` on 429/503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annotrace.collector.auth.principal import principal_of
from annotrace.collector.errors import CollectorError, PayloadTooLarge
from annotrace.collector.receivers import otlp_decode
from annotrace.collector.receivers.ingest import Ingest
from annotrace.collector.receivers.otlp_decode import Encoding, Signal

log = logging.getLogger(__name__)
_CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


def routes(ingest: Ingest, paths: dict[Signal, str] | None = None) -> list[Route]:
    paths = paths or {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}
    return [Route(path, _endpoint(ingest, signal), methods=["POST"]) for signal, path in paths.items()]


def _endpoint(ingest: Ingest, signal: Signal) -> Endpoint:
    async def export(request: Request) -> Response:
        encoding: Encoding = "json"
        try:
            encoding = otlp_decode.media_type(request.headers.get("content-type"))
            body = await _read_body(request, ingest.max_bytes)
            data = otlp_decode.decompress(body, request.headers.get("content-encoding"), ingest.max_bytes)
            principal = principal_of(request)
            response = await run_in_threadpool(ingest.export, signal, data, encoding, request.headers, principal)
            return Response(otlp_decode.serialize(response, encoding), media_type=_CONTENT_TYPES[encoding])
        except CollectorError as exc:
            # Raised in the thread pool, the error comes back with a traceback whose frames (ours
            # and anyio's) hold this request's body; anyio's worker thread keeps the exception
            # after the call, and those frames end in reference cycles that only a full GC pass
            # frees: under overload, refused bodies held ~400 MiB. Nothing reads the traceback.
            exc.__traceback__ = None
            return error_response(exc, encoding)
        except Exception as exc:  # never kill the server on input
            log.exception("http: unexpected error on %s export", signal)
            return error_response(CollectorError(f"Internal error: {type(exc).__name__}"), encoding)

    return export


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body of {declared} bytes is over the limit of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(exc: CollectorError, encoding: Encoding) -> Response:
    status = status_pb2.Status(code=getattr(code_pb2, exc.grpc_code.name), message=exc.message)
    body = (
        status.SerializeToString()
        if encoding == "protobuf"
        else json_format.MessageToJson(status, indent=None).encode()
    )
    headers = {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, int(exc.retry_after_s)))
    return Response(body, status_code=exc.http_status, media_type=_CONTENT_TYPES[encoding], headers=headers)
