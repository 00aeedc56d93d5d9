"""The collector's one error tree and the one table that maps it onto HTTP and gRPC.

Every error the collector raises on purpose is a ``CollectorError``; each class carries an MLflow
``error_code``. ``STATUS`` is the only place that turns a code into an HTTP status and a gRPC
status code, and ``envelope`` the only builder of MLflow's ``{"error_code", "message"}`` body, so
the REST API, the OTLP receivers and the CLI cannot drift apart.

    CollectorError                    INTERNAL_ERROR           500 / INTERNAL
    ├── InvalidParameter              INVALID_PARAMETER_VALUE  400 / INVALID_ARGUMENT
    │   ├── InvalidOTLP               INVALID_ARGUMENT         400 / INVALID_ARGUMENT
    │   └── BadRequest                BAD_REQUEST              400 / INVALID_ARGUMENT
    ├── PayloadTooLarge               PAYLOAD_TOO_LARGE        413 / RESOURCE_EXHAUSTED (no retry)
    ├── UnsupportedMediaType          UNSUPPORTED_MEDIA_TYPE   415 / INVALID_ARGUMENT
    ├── NotFound                      RESOURCE_DOES_NOT_EXIST  404 / NOT_FOUND
    ├── AlreadyExists                 RESOURCE_ALREADY_EXISTS  400 / ALREADY_EXISTS
    ├── Overloaded                    RESOURCE_EXHAUSTED       429 / RESOURCE_EXHAUSTED (+RetryInfo)
    ├── Unavailable                   TEMPORARILY_UNAVAILABLE  503 / UNAVAILABLE
    ├── Unauthenticated               UNAUTHENTICATED          401 / UNAUTHENTICATED
    ├── PermissionDenied              PERMISSION_DENIED        403 / PERMISSION_DENIED
    └── ConfigError                   INVALID_PARAMETER_VALUE  (start-up only)
"""

from __future__ import annotations

from typing import Any

import grpc

__all__ = [
    "STATUS",
    "AlreadyExists",
    "BadRequest",
    "CollectorError",
    "ConfigError",
    "InvalidOTLP",
    "InvalidParameter",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "envelope",
]


class CollectorError(Exception):
    """Base class; ``retry_after_s`` is set on errors a client should retry later."""

    error_code = "INTERNAL_ERROR"
    retry_after_s: float | None = None

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s

    @property
    def http_status(self) -> int:
        return STATUS[self.error_code][0]

    @property
    def grpc_code(self) -> grpc.StatusCode:
        return STATUS[self.error_code][1]


class InvalidParameter(CollectorError):
    error_code = "INVALID_PARAMETER_VALUE"


class InvalidOTLP(InvalidParameter):
    error_code = "INVALID_ARGUMENT"


class BadRequest(InvalidParameter):
    """A request MLflow refuses with BAD_REQUEST rather than INVALID_PARAMETER_VALUE (renaming an
    experiment to a taken name: its store's integrity error)."""

    error_code = "BAD_REQUEST"


class PayloadTooLarge(CollectorError):
    error_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(CollectorError):
    error_code = "UNSUPPORTED_MEDIA_TYPE"


class NotFound(CollectorError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(CollectorError):
    error_code = "RESOURCE_ALREADY_EXISTS"


class Overloaded(CollectorError):
    error_code = "RESOURCE_EXHAUSTED"
    retry_after_s = 1.0


class Unavailable(CollectorError):
    error_code = "TEMPORARILY_UNAVAILABLE"
    retry_after_s = 1.0


class Unauthenticated(CollectorError):
    error_code = "UNAUTHENTICATED"


class PermissionDenied(CollectorError):
    """Who is asking is known, but may not do this (a labeler not assigned to a session)."""

    error_code = "PERMISSION_DENIED"


class ConfigError(CollectorError, ValueError):
    """A bad configuration file; the message names the config path (``processors::batch: ...``)."""

    error_code = "INVALID_PARAMETER_VALUE"


# error_code -> (HTTP status, gRPC status). The only such table in the collector.
STATUS: dict[str, tuple[int, grpc.StatusCode]] = {
    "INTERNAL_ERROR": (500, grpc.StatusCode.INTERNAL),
    "INVALID_PARAMETER_VALUE": (400, grpc.StatusCode.INVALID_ARGUMENT),
    "INVALID_ARGUMENT": (400, grpc.StatusCode.INVALID_ARGUMENT),
    "BAD_REQUEST": (400, grpc.StatusCode.INVALID_ARGUMENT),
    "PAYLOAD_TOO_LARGE": (413, grpc.StatusCode.RESOURCE_EXHAUSTED),
    "UNSUPPORTED_MEDIA_TYPE": (415, grpc.StatusCode.INVALID_ARGUMENT),
    "RESOURCE_DOES_NOT_EXIST": (404, grpc.StatusCode.NOT_FOUND),
    "ENDPOINT_NOT_FOUND": (404, grpc.StatusCode.UNIMPLEMENTED),
    "RESOURCE_ALREADY_EXISTS": (400, grpc.StatusCode.ALREADY_EXISTS),
    "RESOURCE_EXHAUSTED": (429, grpc.StatusCode.RESOURCE_EXHAUSTED),
    "TEMPORARILY_UNAVAILABLE": (503, grpc.StatusCode.UNAVAILABLE),
    "UNAUTHENTICATED": (401, grpc.StatusCode.UNAUTHENTICATED),
    "PERMISSION_DENIED": (403, grpc.StatusCode.PERMISSION_DENIED),
    "DEADLINE_EXCEEDED": (504, grpc.StatusCode.DEADLINE_EXCEEDED),
}


def envelope(error: CollectorError | str, message: str | None = None) -> dict[str, Any]:
    """MLflow's error body: ``{"error_code": ..., "message": ...}``."""
    if isinstance(error, CollectorError):
        return {"error_code": error.error_code, "message": error.message}
    return {"error_code": error, "message": message or ""}
