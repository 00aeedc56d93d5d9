"""``AssessmentError``: why a feedback has no value (the judge timed out, hit a rate limit...).

A failed evaluation is still a result worth keeping, so MLflow logs it as a feedback that carries
an error instead of a value; the REST shape is ``feedback.error``. Stack traces are cut to their
last 10,000 characters on the wire, as MLflow does, so one runaway traceback cannot bloat a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AssessmentError"]

_STACK_TRACE_TRUNCATION_PREFIX = "[Stack trace is truncated]\n...\n"
_STACK_TRACE_TRUNCATION_LENGTH = 10000


@dataclass
class AssessmentError:
    """``AssessmentError(error_code, error_message=None, stack_trace=None)``."""

    error_code: str
    error_message: str | None = None
    stack_trace: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "error_message": self.error_message, "stack_trace": self.stack_trace}

    @classmethod
    def from_dictionary(cls, error_dict: dict[str, Any]) -> AssessmentError:
        return cls(**error_dict)

    def _to_json(self) -> dict[str, Any]:
        """The proto JSON inside ``feedback.error``: empty fields left out, stack trace truncated."""
        out: dict[str, Any] = {"error_code": self.error_code}
        if self.error_message:
            out["error_message"] = self.error_message
        if self.stack_trace:
            trace = self.stack_trace
            if len(trace) > _STACK_TRACE_TRUNCATION_LENGTH:
                keep = _STACK_TRACE_TRUNCATION_LENGTH - len(_STACK_TRACE_TRUNCATION_PREFIX)
                trace = _STACK_TRACE_TRUNCATION_PREFIX + trace[-keep:]
            out["stack_trace"] = trace
        return out
