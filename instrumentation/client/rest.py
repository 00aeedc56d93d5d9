"""The SDK's one HTTP session to the collector, and the only place HTTP errors become exceptions.

Every REST call of the SDK (assessments, traces, experiments, SQL) goes through ``call()``, so
there is one ``httpx.Client`` per process (connection reuse; rebuilt when the tracking URI
changes) and one translation of failures (the httpx pattern of mapping a dependency's errors at
the boundary):

- MLflow's error envelope ``{"error_code", "message"}`` becomes ``AnnotraceException`` (also
  exported as ``MlflowException``) with that ``error_code``, as MLflow's own client raises it;
- any other non-2xx answer becomes ``AnnotraceException`` with the ``error_code`` MLflow pairs
  with that HTTP status, and the start of the body in the message;
- transport errors (refused, DNS, timeout) become ``AnnotraceException`` with
  ``TEMPORARILY_UNAVAILABLE`` and a message that names the tracking URI, so "is the collector
  running, and is this the right URI?" is the first thing the user reads.

Read-your-writes: every call first exports the spans this process has ended
(``tracing.flush_if_started``), so ``search_traces``, ``get_trace``, ``sql``, ``log_feedback``,
``add_traces`` and the rest see the trace made on the line before; the collector then answers
only once what it acknowledged is stored. One place, so no new call can forget it. (It is the one
import of ``tracing`` here: that package's ``__init__`` is stdlib-only and never loads the OTel SDK.)

Retries: only requests that certainly did not run are retried (connection refused before
sending, or a 429/503 answer, honouring ``Retry-After`` up to ``MAX_RETRY_WAIT_S``), so a create
is never applied twice. ``httpx`` is imported here, never by ``import annotrace``.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import urllib.parse
from typing import Any

import httpx

from annotrace import tracking
from annotrace.exceptions import AnnotraceException, ErrorCode
from annotrace.tracing import flush_if_started

__all__ = ["DEFAULT_TIMEOUT_S", "call", "close", "quote", "raise_for_response"]

DEFAULT_TIMEOUT_S = 120.0  # MLflow's MLFLOW_HTTP_REQUEST_TIMEOUT default
_TIMEOUT_ENV = ("ANNOTRACE_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT")
MAX_RETRIES = 3
MAX_RETRY_WAIT_S = 10.0
_RETRY_STATUSES = (429, 503)

# HTTP status -> MLflow error_code, for answers that carry no MLflow envelope.
STATUS_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    413: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
    501: "NOT_IMPLEMENTED",
    503: ErrorCode.TEMPORARILY_UNAVAILABLE,
    504: "DEADLINE_EXCEEDED",
}

_lock = threading.Lock()
_client: httpx.Client | None = None
_client_uri: str | None = None


def _timeout() -> float:
    for name in _TIMEOUT_ENV:
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                return float(raw)
            except ValueError:
                break
    return DEFAULT_TIMEOUT_S


def _credentials() -> dict[str, str]:
    """The ``Authorization`` header for a collector run for a team, as the MLflow client finds it:
    ``MLFLOW_TRACKING_TOKEN`` (Bearer), else ``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD`` (Basic),
    else the ``authorization`` entry of ``OTEL_EXPORTER_OTLP_HEADERS`` (so the one variable that
    signs the SDK's span exports signs its REST calls too)."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password is not None:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    for entry in os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "").split(","):
        key, sep, value = entry.partition("=")
        if sep and urllib.parse.unquote(key).strip().lower() == "authorization":
            return {"Authorization": urllib.parse.unquote(value).strip()}
    return {}


def _session() -> tuple[httpx.Client, str]:
    """The shared client for the current tracking URI and credentials (a new one if either changed)."""
    global _client, _client_uri
    uri = tracking.get_tracking_uri()
    credentials = _credentials()
    key = f"{uri}\0{credentials.get('Authorization', '')}"
    with _lock:
        if _client is None or _client_uri != key:
            old = _client
            _client = httpx.Client(
                base_url=uri, timeout=_timeout(), headers={"User-Agent": "annotrace-sdk", **credentials}
            )
            _client_uri = key
            if old is not None:
                old.close()
        return _client, uri


def close() -> None:
    """Close the shared session (tests, or before fork); the next call opens a new one."""
    global _client, _client_uri
    with _lock:
        if _client is not None:
            _client.close()
        _client, _client_uri = None, None


def quote(segment: str) -> str:
    """A path segment (trace id, assessment id) safe to put into a URL."""
    return urllib.parse.quote(str(segment), safe="")


def raise_for_response(response: httpx.Response, what: str) -> None:
    """Raise ``AnnotraceException`` for a non-2xx answer (envelope's code, else the status's)."""
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error_code"), str):
        extra = {k: v for k, v in body.items() if k not in ("error_code", "message")}
        raise AnnotraceException(str(body.get("message", "")), error_code=body["error_code"], **extra)
    code = STATUS_ERROR_CODES.get(response.status_code)
    if code is None:
        code = ErrorCode.INTERNAL_ERROR if response.status_code >= 500 else "BAD_REQUEST"
    text = response.text.strip()
    raise AnnotraceException(
        f"API request to {what} failed with error code {response.status_code} != 200. Response body: '{text[:1000]}'",
        error_code=code,
    )


def _retry_wait(response: httpx.Response, attempt: int) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        wait = float(raw)
    except ValueError:
        wait = 0.5 * (2**attempt)
    return max(0.0, min(wait, MAX_RETRY_WAIT_S))


def call(
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Any = None,
) -> Any:
    """``method path`` on the tracking URI; the decoded JSON answer (``{}`` for an empty body)."""
    flush_if_started()
    client, uri = _session()
    what = f"{uri}{path}"
    attempt = 0
    while True:
        try:
            response = client.request(method, path, json=json, params=params)
        except httpx.ConnectError as error:
            if attempt < MAX_RETRIES:
                attempt += 1
                time.sleep(0.2 * attempt)
                continue
            raise _unreachable(uri, method, path, error) from error
        except httpx.TimeoutException as error:
            raise AnnotraceException(
                f"API request to {what} timed out after {client.timeout.read} s. Is the annotrace collector at "
                f"{uri} overloaded? Set ANNOTRACE_HTTP_REQUEST_TIMEOUT to wait longer.",
                error_code="DEADLINE_EXCEEDED",
            ) from error
        except httpx.TransportError as error:
            raise _unreachable(uri, method, path, error) from error
        if response.status_code in _RETRY_STATUSES and attempt < MAX_RETRIES:
            time.sleep(_retry_wait(response, attempt))
            attempt += 1
            continue
        raise_for_response(response, f"{method} {what}")
        if not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError as error:
            raise AnnotraceException(
                f"API request to {method} {what} returned a body that is not JSON: {response.text[:200]!r}",
                error_code=ErrorCode.INTERNAL_ERROR,
            ) from error


def _unreachable(uri: str, method: str, path: str, error: Exception) -> AnnotraceException:
    return AnnotraceException(
        f"Could not reach the annotrace collector at tracking URI {uri!r} ({method} {path}: "
        f"{type(error).__name__}: {error}). Is the collector running (`annotrace serve`), and is the tracking "
        "URI right (annotrace.set_tracking_uri(...) or ANNOTRACE_TRACKING_URI)?",
        error_code=ErrorCode.TEMPORARILY_UNAVAILABLE,
    )
