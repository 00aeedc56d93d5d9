"""The SDK's one exception class, shaped like MLflow's ``MlflowException``.

Code written against MLflow catches ``mlflow.MlflowException`` and reads ``error_code`` and
``message``; ``import annotrace as mlflow`` must keep that working, so the class carries the same
constructor and attributes and is exported under both names. The module is pure (stdlib only)
so the collector can subclass it without importing the SDK's tracing machinery.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["AnnotraceException", "ErrorCode", "MlflowException"]


class ErrorCode:
    """MLflow ``error_code`` names the SDK raises (strings, as MLflow sends them)."""

    INTERNAL_ERROR = "INTERNAL_ERROR"
    INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
    INVALID_STATE = "INVALID_STATE"
    RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
    RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
    TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"


class AnnotraceException(Exception):
    """An error with an MLflow ``error_code``; ``str(exc)`` is the message alone."""

    def __init__(self, message: object, error_code: str = ErrorCode.INTERNAL_ERROR, **kwargs: Any) -> None:
        self.message = str(message)
        self.error_code = error_code
        self.json_kwargs = kwargs
        super().__init__(self.message)

    @classmethod
    def invalid_parameter_value(cls, message: object, **kwargs: Any) -> AnnotraceException:
        """The constructor MLflow code uses for bad arguments."""
        return cls(message, error_code=ErrorCode.INVALID_PARAMETER_VALUE, **kwargs)

    def serialize_as_json(self) -> str:
        """MLflow's error envelope: ``{"error_code": ..., "message": ...}`` plus extra fields."""
        return json.dumps({"error_code": self.error_code, "message": self.message, **self.json_kwargs})


MlflowException = AnnotraceException
