"""Pure data entities in MLflow's shapes (stdlib only, safe for the collector to import).

``annotrace.entities.X`` is ``mlflow.entities.X`` for the names below: the assessment classes
(``assessment.py`` and its source/error modules), traces (``trace.py``, ``trace_info.py``),
spans (``span.py``) and retrieved documents (``document.py``). Each dictionary/JSON shape is
defined once, in these modules.
"""

from __future__ import annotations

from annotrace.entities.assessment import Assessment, Expectation, Feedback
from annotrace.entities.assessment_error import AssessmentError
from annotrace.entities.assessment_source import AssessmentSource, AssessmentSourceType
from annotrace.entities.document import Document
from annotrace.entities.span import Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType
from annotrace.entities.trace import Trace, TraceData
from annotrace.entities.trace_info import TraceInfo, TraceLocation, TraceState

__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Document",
    "Expectation",
    "Feedback",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceLocation",
    "TraceState",
]
